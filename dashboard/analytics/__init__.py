"""Community-health numbers computed from stored mentions: pure functions over DataFrames.

One module per group of metrics (windows, volume, health, engagement, voices, keywords, trending,
spikes, rising, replies); `dashboard` assembles them for the UI (`compute_dashboard`) and the export
(`metrics_table`). The contract with those readers is contract.md beside this file.
"""
