from chaos.model import Gremlin, Kind


def fired(gremlin, calls=100):
    return [n for n in range(1, calls + 1) if gremlin.fires_on(n)]


def test_every_nth_fires_on_multiples_of_n():
    assert fired(Gremlin("g", Kind.ERROR, every_nth=5), 20) == [5, 10, 15, 20]


def test_fail_next_fires_on_the_first_k_calls_only():
    gremlin = Gremlin("g", Kind.ERROR, fail_next=3)

    assert fired(gremlin, 10) == [1, 2, 3]
    assert Gremlin("g", Kind.ERROR, fail_next=3, matched=3).exhausted()


def test_probability_is_reproducible_from_the_seed_and_near_the_fraction():
    first = fired(Gremlin("g", Kind.ERROR, probability=0.2, seed=7), 2000)
    again = fired(Gremlin("other-name", Kind.ERROR, probability=0.2, seed=7), 2000)
    other_seed = fired(Gremlin("g", Kind.ERROR, probability=0.2, seed=8), 2000)

    assert first == again != other_seed
    assert 300 < len(first) < 500


def test_without_a_selector_it_fires_every_time():
    assert fired(Gremlin("g", Kind.LATENCY, delay_ms=1), 5) == [1, 2, 3, 4, 5]


def test_method_and_path_patterns_limit_what_it_watches():
    gremlin = Gremlin("g", Kind.ERROR, method="PUT", path="/api/v1/reservations/*")

    assert gremlin.applies_to("PUT", "/api/v1/reservations/abc")
    assert not gremlin.applies_to("GET", "/api/v1/reservations/abc")
    assert not gremlin.applies_to("PUT", "/api/v1/products/abc")
    assert not Gremlin("g", Kind.ERROR).applies_to("GET", "/chaos")


def test_jitter_stays_within_bounds_and_repeats_per_call():
    gremlin = Gremlin("g", Kind.LATENCY, delay_ms=100, jitter_ms=50, seed=3)

    delays = [gremlin.delay_s(n) for n in range(1, 50)]

    assert all(0.1 <= d <= 0.15 for d in delays)
    assert delays == [gremlin.delay_s(n) for n in range(1, 50)]
