"""The speed suite and speed figures from any exchanges: TTFT and output tokens/s."""

from ._measure import BUCKETS, Timing, bucket_of, speed_metrics, timing, timings
from .suite import SpeedSuite, compare

__all__ = ["BUCKETS", "SpeedSuite", "Timing", "bucket_of", "compare", "speed_metrics", "timing",
           "timings"]
