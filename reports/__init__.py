"""Officer reports: metrics in SQL, anonymity thresholds, messages, charts and workbooks."""
