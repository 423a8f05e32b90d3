"""HF Trainer fine-tuning with report_to wandb, best model at end, early stopping."""

import numpy as np
from datasets import load_dataset
import evaluate
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    EarlyStoppingCallback,
    Trainer,
    TrainingArguments,
)

MODEL = "roberta-base"
tokenizer = AutoTokenizer.from_pretrained(MODEL, revision="main")
raw = load_dataset("glue", "sst2")
encoded = raw.map(lambda b: tokenizer(b["sentence"], truncation=True), batched=True)
metric = evaluate.load("glue", "sst2")


def compute_metrics(eval_pred):
    logits, labels = eval_pred
    return metric.compute(predictions=np.argmax(logits, axis=-1), references=labels)


model = AutoModelForSequenceClassification.from_pretrained(MODEL, num_labels=2, revision="main")
args = TrainingArguments(
    output_dir="roberta-sst2",
    learning_rate=2e-5,
    per_device_train_batch_size=32,
    num_train_epochs=5,
    weight_decay=0.01,
    eval_strategy="epoch",
    save_strategy="epoch",
    load_best_model_at_end=True,
    metric_for_best_model="accuracy",
    report_to="wandb",
    seed=42,
)
trainer = Trainer(
    model=model,
    args=args,
    train_dataset=encoded["train"],
    eval_dataset=encoded["validation"],
    processing_class=tokenizer,
    data_collator=DataCollatorWithPadding(tokenizer),
    compute_metrics=compute_metrics,
    callbacks=[EarlyStoppingCallback(early_stopping_patience=2)],
)
trainer.train()
print(trainer.evaluate())
trainer.save_model("roberta-sst2/best")
