"""Running the course: executing notebooks, the scorecard, and building labs from solutions."""
