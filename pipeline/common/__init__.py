"""What every room shares: imaging types and helpers (:mod:`.imaging`) and where the shipped defaults lie
(:mod:`.defaults`). Imports nothing of the project."""
