"""Work-report extraction: from the text of a 政府工作报告 / 工作会议 speech to commitments.

Pure Python (no Django).  The contract is ``../shared/spec/commitments.md``.
"""

from .engine import Commitment, ExtractError, Extraction, decode_report, extract, infer_year
from .score import Score, score

__all__ = [
    "Commitment",
    "ExtractError",
    "Extraction",
    "Score",
    "decode_report",
    "extract",
    "infer_year",
    "score",
]
