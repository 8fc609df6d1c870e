"""The portfolio bundle: export, offline verification, import (DESIGN: the passport)."""
