"""The pure parts of the fleet scenarios: the key roll's steps and the header-cliff bisection."""

from compare.lab.scenarios import scenarios
from compare.lab.scenarios.header_cliff import longest_accepted
from compare.lab.scenarios.rolling_keys import key_phases, roll


def test_the_bisection_finds_the_longest_accepted_cart_in_few_probes():
    probes = []

    def accepted(n):
        probes.append(n)
        return n <= 711

    assert longest_accepted(2001, accepted) == 711
    assert len(probes) <= 13


def test_the_bisection_says_none_when_the_hop_never_refused():
    assert longest_accepted(100, lambda n: True) is None


def test_the_naive_roll_switches_each_instance_once_and_the_two_phase_roll_learns_first():
    assert roll("naive") == [(0, "new"), (1, "new"), (2, "new")]
    two_phase = roll("two-phase")
    assert [phase for _, phase in two_phase] == ["learn"] * 3 + ["new"] * 3
    assert [index for index, _ in two_phase] == [0, 1, 2, 0, 1, 2]


def test_the_learning_phase_accepts_the_new_keys_without_signing_with_them():
    phases = key_phases()
    old, learn, new = phases["old"], phases["learn"], phases["new"]
    assert learn["CART_TOKEN_KEYS"] == old["CART_TOKEN_KEYS"]  # still signs with old
    assert learn["CART_TOKEN_VERIFY_KEYS"] == new["CART_TOKEN_KEYS"].split(",")[0]
    assert learn["DJANGO_SECRET_KEY"] == old["DJANGO_SECRET_KEY"]
    assert learn["DJANGO_SECRET_KEY_FALLBACKS"] == new["DJANGO_SECRET_KEY"]
    assert new["DJANGO_SECRET_KEY_FALLBACKS"] == old["DJANGO_SECRET_KEY"]


def test_the_fleet_scenarios_are_listed_by_their_names():
    assert {"balancer", "rolling-keys", "header-cliff"} <= set(scenarios())
