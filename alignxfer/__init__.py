"""alignxfer: alignment-aware and contrastive pre-training for zero-shot cross-lingual transfer.

The package holds every piece of logic of the workflow; it knows nothing of Snakemake.
"""

__version__ = "0.1.0"
