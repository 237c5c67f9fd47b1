"""The monthly report: figures, charts, HTML, CSV and the scheduled email."""
