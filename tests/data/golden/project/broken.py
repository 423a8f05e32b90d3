def evaluate(model, loader:
    return [model(x) for x in loader]
