"""Quality evaluation: metrics, the systems compared, scoring, and the side-by-side report with plots."""
