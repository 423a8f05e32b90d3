"""A model of PyTorch's CUDA caching allocator, replayed over a trace to predict *reserved*.

What it reproduces (c10/cuda/CUDACachingAllocator.cpp, and the PyTorch CUDA memory notes):

- requests are already rounded to 512 B (kMinBlockSize) by the tracer;
- requests of at most 1 MiB (kSmallSize) come from the small pool, whose segments are 2 MiB
  (kSmallBuffer); larger ones from the large pool, which allocates a 20 MiB segment
  (kLargeBuffer) for requests below 10 MiB (kMinLargeAlloc) and otherwise a segment of the
  request rounded up to 2 MiB (kRoundLarge);
- a request takes the smallest cached free block of its pool that is large enough (best fit,
  then lowest address); blocks are split when the remainder is at least 512 B (small pool) or
  more than 1 MiB (large pool), and an unsplit block counts its full size as allocated;
- freed blocks merge with free neighbours in the same segment; segments are never returned
  (no `empty_cache`), so reserved only grows;
- with `expandable_segments:True` each pool is one segment that grows at its end in pages of
  2 MiB (small) or 20 MiB (large), so a new request first reuses holes, then extends the end.

It does not model streams, `max_split_size_mb`, `roundup_power2_divisions` or OOM-retry
(freeing the cache and retrying), which only happen near the memory limit.
"""

from __future__ import annotations

import bisect
import os
from dataclasses import dataclass, field

KB = 1024
MB = 1024 * 1024
SMALL_SIZE = 1 * MB
SMALL_BUFFER = 2 * MB
LARGE_BUFFER = 20 * MB
MIN_LARGE_ALLOC = 10 * MB
ROUND_LARGE = 2 * MB
MIN_BLOCK = 512


@dataclass
class _Block:
    segment: int
    offset: int
    size: int
    free: bool = True


@dataclass
class _Segment:
    size: int
    small: bool
    blocks: list[_Block] = field(default_factory=list)  # sorted by offset


@dataclass
class AllocatorStats:
    peak_allocated: int = 0
    peak_reserved: int = 0
    allocated: int = 0
    reserved: int = 0
    segments: int = 0


def alloc_conf_from_env(environ: dict | None = None) -> dict[str, str]:
    """Parse `PYTORCH_ALLOC_CONF` (or the older `PYTORCH_CUDA_ALLOC_CONF`)."""
    env = os.environ if environ is None else environ
    text = env.get("PYTORCH_ALLOC_CONF") or env.get("PYTORCH_CUDA_ALLOC_CONF") or ""
    conf: dict[str, str] = {}
    for part in text.split(","):
        if ":" in part:
            key, value = part.split(":", 1)
            conf[key.strip()] = value.strip()
    return conf


class CachingAllocator:
    """Replays (uid, +size) allocations and (uid, -size) frees."""

    def __init__(self, *, expandable_segments: bool = False) -> None:
        self.expandable = expandable_segments
        self.segments: list[_Segment] = []
        self.free_small: list[tuple[int, int, int]] = []  # (size, segment, offset)
        self.free_large: list[tuple[int, int, int]] = []
        self.by_uid: dict[int, _Block] = {}
        self.stats = AllocatorStats()
        self._expand_seg: dict[bool, int] = {}

    # -- public -----------------------------------------------------------------------------
    def malloc(self, uid: int, size: int) -> None:
        size = max(MIN_BLOCK, ((size + MIN_BLOCK - 1) // MIN_BLOCK) * MIN_BLOCK)
        small = size <= SMALL_SIZE
        block = self._find_free(size, small)
        if block is None:
            block = self._grow(size, small)
        self._take(block, size, small)
        self.by_uid[uid] = block
        self.stats.allocated += block.size
        self.stats.peak_allocated = max(self.stats.peak_allocated, self.stats.allocated)

    def free(self, uid: int) -> None:
        block = self.by_uid.pop(uid, None)
        if block is None:
            return
        self.stats.allocated -= block.size
        block.free = True
        self._merge(block)

    # -- internals --------------------------------------------------------------------------
    def _pool(self, small: bool) -> list[tuple[int, int, int]]:
        return self.free_small if small else self.free_large

    def _find_free(self, size: int, small: bool) -> _Block | None:
        pool = self._pool(small)
        i = bisect.bisect_left(pool, (size, -1, -1))
        if i == len(pool):
            return None
        _, seg, off = pool.pop(i)
        return self._block_at(seg, off)

    def _block_at(self, seg: int, off: int) -> _Block:
        blocks = self.segments[seg].blocks
        j = bisect.bisect_left([b.offset for b in blocks], off)
        return blocks[j]

    def _new_segment(self, size: int, small: bool) -> _Block:
        seg = _Segment(size=size, small=small)
        self.segments.append(seg)
        idx = len(self.segments) - 1
        block = _Block(idx, 0, size)
        seg.blocks.append(block)
        self.stats.reserved += size
        self.stats.segments += 1
        self.stats.peak_reserved = max(self.stats.peak_reserved, self.stats.reserved)
        return block

    def _grow(self, size: int, small: bool) -> _Block:
        if self.expandable:
            return self._grow_expandable(size, small)
        if small:
            seg_size = SMALL_BUFFER
        elif size < MIN_LARGE_ALLOC:
            seg_size = LARGE_BUFFER
        else:
            seg_size = ((size + ROUND_LARGE - 1) // ROUND_LARGE) * ROUND_LARGE
        return self._new_segment(seg_size, small)

    def _grow_expandable(self, size: int, small: bool) -> _Block:
        page = SMALL_BUFFER if small else LARGE_BUFFER
        idx = self._expand_seg.get(small)
        if idx is None:
            grow = ((size + page - 1) // page) * page
            block = self._new_segment(grow, small)
            self._expand_seg[small] = block.segment
            return block
        seg = self.segments[idx]
        last = seg.blocks[-1]
        have = last.size if last.free else 0
        need = size - have
        grow = ((need + page - 1) // page) * page
        if last.free:
            self._pool(small).remove((last.size, idx, last.offset))
            last.size += grow
            block = last
        else:
            block = _Block(idx, seg.size, grow)
            seg.blocks.append(block)
        seg.size += grow
        self.stats.reserved += grow
        self.stats.peak_reserved = max(self.stats.peak_reserved, self.stats.reserved)
        return block

    def _take(self, block: _Block, size: int, small: bool) -> None:
        remaining = block.size - size
        split = remaining >= MIN_BLOCK if small else remaining > SMALL_SIZE
        if self.expandable and not small:
            split = remaining >= MIN_BLOCK
        block.free = False
        if split:
            seg = self.segments[block.segment]
            rest = _Block(block.segment, block.offset + size, remaining)
            block.size = size
            j = seg.blocks.index(block)
            seg.blocks.insert(j + 1, rest)
            bisect.insort(self._pool(small), (rest.size, rest.segment, rest.offset))

    def _merge(self, block: _Block) -> None:
        seg = self.segments[block.segment]
        pool = self._pool(seg.small)
        j = seg.blocks.index(block)
        # merge with the next block
        if j + 1 < len(seg.blocks) and seg.blocks[j + 1].free:
            nxt = seg.blocks.pop(j + 1)
            pool.remove((nxt.size, nxt.segment, nxt.offset))
            block.size += nxt.size
        if j > 0 and seg.blocks[j - 1].free:
            prev = seg.blocks[j - 1]
            pool.remove((prev.size, prev.segment, prev.offset))
            prev.size += block.size
            seg.blocks.pop(j)
            block = prev
        bisect.insort(pool, (block.size, block.segment, block.offset))


def replay(events, *, expandable_segments: bool = False) -> AllocatorStats:
    """Replay tracer events (uid, nbytes>0 alloc / <0 free) and return the peaks."""
    alloc = CachingAllocator(expandable_segments=expandable_segments)
    for ev in events:
        if ev.nbytes > 0:
            alloc.malloc(ev.uid, ev.nbytes)
        else:
            alloc.free(ev.uid)
    return alloc.stats
