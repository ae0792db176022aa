"""The bytes cache: least recently used entries go first, by size; an answer larger than the cache is not kept."""

from shared.core.cache import BytesCache


def test_keeps_within_its_size_dropping_the_least_recently_used() -> None:
    cache = BytesCache(max_bytes=10)
    cache.put("a", b"1234")
    cache.put("b", b"1234")
    assert cache.get("a") == b"1234"  # a is now the most recently used
    cache.put("c", b"1234")  # 12 bytes: b goes
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (b"1234", None, b"1234")
    cache.put("a", b"12")  # replacing an entry frees its old size
    cache.put("d", b"123456")
    assert (cache.get("c"), cache.get("a"), cache.get("d"), len(cache)) == (None, b"12", b"123456", 2)


def test_an_answer_larger_than_the_cache_is_not_kept() -> None:
    cache = BytesCache(max_bytes=3)
    cache.put("big", b"1234")
    assert cache.get("big") is None and len(cache) == 0
