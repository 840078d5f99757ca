"""The MAX messenger front: MAX updates -> dialog service calls; steps -> MAX messages."""
