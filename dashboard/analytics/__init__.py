"""Community-health numbers computed from stored mentions: pure functions over DataFrames."""
