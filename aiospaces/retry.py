"""The SDK's one retry loop, for code built on it that retries its own operations the same way (the task
queue's compare-and-swap): one backoff formula with jitter, on the client's clock, each retry logged with its
reason on the `aiospaces` logger.

```python
retrying = Retrying(policy, clock=client.clock, rng=random.Random(), classify=classify, what="updating")
async for attempt in retrying:
    with attempt:
        ...  # one attempt; an error `classify` maps to a `Failure` is retried, any other is raised
```
"""

from __future__ import annotations

from ._retry import Failure, Outcome, Retrying, RetryPolicy

__all__ = ["Failure", "Outcome", "RetryPolicy", "Retrying"]
