"""Learning rules: how a (poisoned) dataset becomes a trained SNN."""
