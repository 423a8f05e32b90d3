"""Token classification with the HF Trainer and a custom loss. Correct."""

import numpy as np
import torch
from datasets import load_dataset
from transformers import (
    AutoModelForTokenClassification,
    AutoTokenizer,
    DataCollatorForTokenClassification,
    Trainer,
    TrainingArguments,
)

model_name = "distilbert-base-cased"
tokenizer = AutoTokenizer.from_pretrained(model_name)
raw = load_dataset("conll2003")
label_names = raw["train"].features["ner_tags"].feature.names
model = AutoModelForTokenClassification.from_pretrained(model_name, num_labels=len(label_names))


class WeightedTrainer(Trainer):
    def __init__(self, *args, class_weights=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.class_weights = class_weights

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        labels = inputs.pop("labels")
        outputs = model(**inputs)
        logits = outputs.logits
        loss = torch.nn.functional.cross_entropy(
            logits.view(-1, logits.size(-1)),
            labels.view(-1),
            weight=self.class_weights.to(logits.device),
            ignore_index=-100,
        )
        return (loss, outputs) if return_outputs else loss


def compute_metrics(eval_pred):
    logits, labels = eval_pred
    predictions = np.argmax(logits, axis=-1)
    mask = labels != -100
    return {"accuracy": float((predictions[mask] == labels[mask]).mean())}


args = TrainingArguments(
    output_dir="ner",
    learning_rate=2e-5,
    per_device_train_batch_size=16,
    num_train_epochs=3,
    weight_decay=0.01,
    eval_strategy="epoch",
    save_strategy="epoch",
    fp16=True,
)
trainer = WeightedTrainer(
    model=model,
    args=args,
    train_dataset=raw["train"],
    eval_dataset=raw["validation"],
    data_collator=DataCollatorForTokenClassification(tokenizer),
    compute_metrics=compute_metrics,
    class_weights=torch.ones(len(label_names)),
)
trainer.train()
print(trainer.evaluate())
