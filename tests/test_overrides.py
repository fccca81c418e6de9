"""Overrides: one path grammar for any scenario field, validated as a file is, with the
compiled world rebuilt only for what changed."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_bad_input import assert_one_line_error, run_cli

from riskmodel.errors import InputError
from riskmodel.overrides import Override, overrides_from, parse_path, render_path
from riskmodel.world import load_world, with_overrides


def test_set_and_scale_reach_the_compiled_world(japan):
    ddos = japan.threat_ids.index("ddos")
    doubled = with_overrides(japan, overrides_from({"threats[id=ddos].frequency.rate": {"scale": 2}}))
    assert doubled.threats.rate[ddos] == 2 * japan.threats.rate[ddos]
    assert doubled.sector_rate[:, ddos] == pytest.approx(2 * japan.sector_rate[:, ddos])
    others = [h for h in range(len(japan.threat_ids)) if h != ddos]
    assert (doubled.threats.rate[others] == japan.threats.rate[others]).all()
    assert doubled.content_hash != japan.content_hash
    users = with_overrides(japan, [Override.parse("sectors[id=finance].users.total=1e6")])
    assert users.scenario.sectors[japan.sector_ids.index("finance")].users.total == 1e6
    level = with_overrides(japan, [Override.parse("measures[0].levels[0].cost_fixed*=3")])
    assert level.catalogue.cost_fixed[0] == pytest.approx(3 * japan.catalogue.cost_fixed[0])


def test_an_abm_override_reuses_the_compiled_arrays():
    japan = load_world()  # compiled (or served) just now: the most recent entry of the cache
    blamed = with_overrides(japan, [Override("abm.concealment.blame", 0.9)])
    assert blamed.scenario.abm.concealment.blame == 0.9
    assert blamed.operators is japan.operators and blamed.cascade is japan.cascade
    assert blamed.content_hash != japan.content_hash
    back = with_overrides(blamed, [Override("abm.concealment.blame", japan.scenario.abm.concealment.blame)])
    assert back.content_hash == japan.content_hash


def test_a_threat_override_recompiles_and_the_cache_serves_it_again(japan):
    once = with_overrides(japan, [Override("threats[id=web_exploit].duration.median_hours", 7.0)])
    again = load_world(None, [Override("threats[id=web_exploit].duration.median_hours", 7.0)])
    assert once.operators is not japan.operators
    assert again.threats is once.threats  # compiled once, served from the cache


def test_packaged_name_and_file_path_give_the_same_world(japan):
    assert load_world("japan").content_hash == japan.content_hash


@pytest.mark.parametrize(
    ("text", "path", "value", "scale"),
    [
        ("threats[id=ddos].frequency.rate=0.5", "threats[id=ddos].frequency.rate", 0.5, False),
        ("threats[id=ddos].frequency.rate*=1.1", "threats[id=ddos].frequency.rate", 1.1, True),
        ("abm.pdca.enabled=false", "abm.pdca.enabled", False, False),
        ("scenario.title=Mine", "scenario.title", "Mine", False),
        ('scenario.title="a = b"', "scenario.title", "a = b", False),
        ("abm.information_sharing.threats=[\"ddos\"]", "abm.information_sharing.threats", ["ddos"], False),
    ],
)
def test_command_line_assignments(text, path, value, scale):
    override = Override.parse(text)
    assert (override.path, override.value, override.scale) == (path, value, scale)
    assert Override.of(override.path, override.to_json()) == override


names = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True)
steps = st.one_of(names, st.integers(0, 99), names.map(lambda n: ("id", n)))


@given(st.tuples(names), st.lists(steps, max_size=5))
def test_paths_render_and_parse_back(first, rest):
    path = [*first, *rest]
    assert parse_path(render_path(path)) == path


BAD_OVERRIDES = [
    ("threats[id=dos].frequency.rate=1", "threats[id=dos].frequency.rate", "an id in threats"),
    ("threats[id=ddos].frequency.rat=1", "threats[id=ddos].frequency.rat", "a field of"),
    ("threats[id=ddos].frequency.rate=-1", "threats[id=ddos].frequency.rate", "greater than or equal to 0"),
    ("threats[id=ddos].frequency.rate=abc", "threats[id=ddos].frequency.rate", "a valid number"),
    ("threats[id=ddos].frequency.rate=inf", "threats[id=ddos].frequency.rate", "finite"),
    ("threats[id=ddos].frequency.rate*=abc", "threats[id=ddos].frequency.rate", "a finite number to scale by"),
    ("threats[id=ddos].frequency.rate*=1e400", "threats[id=ddos].frequency.rate", "finite"),
    ("scenario.name*=2", "scenario.name", "a number to scale"),
    ("sectors[99].users.total=1", "sectors[99]", "a position below"),
    ("sectors[id=finance].users.total=0", "sectors[id=finance].users.total", "greater than 0"),
    ("sectors.users=1", "sectors.users", "which is a list"),
    ("nowhere.rate=1", "nowhere.rate", "a top-level table"),
    ("x..y=1", "x..y", "a field path"),
    ("[id=ddos]=1", "[id=ddos]", "a field path"),
    ("threats[id=ddos].frequency.rate", "threats[id=ddos].frequency.rate", "PATH=VALUE"),
    ("=3", "=3", "PATH=VALUE"),
    ("abm.concealment.base_probability=1.5", "abm.concealment.base_probability", "less than 1"),
    ("abm.pdca.enabled=3", "abm.pdca.enabled", "a valid boolean"),
    ("abm.concealment.blam=0.1", "abm.concealment.blam", "a field of abm.concealment"),
    ("threats[id=ddos].kind=weather", "threats[id=ddos].kind", "'cyber', 'unintentional' or 'disaster'"),
    ("ministries[id=mic].sectors=[\"nowhere\"]", "ministries[id=mic].sectors[0]", "one of"),
    ("measures[0].levels[0].effects.frequency.nowhere=0.5", "effects.frequency.nowhere", "a field of"),
]


@pytest.mark.parametrize(("assignment", "field", "expected"), BAD_OVERRIDES, ids=[b[0] for b in BAD_OVERRIDES])
def test_bad_overrides_give_one_line_for_every_kind(assignment, field, expected, tmp_path: Path):
    earlier = tmp_path / "out"
    earlier.mkdir()
    (earlier / "summary.json").write_text("{}")
    for command in ("simulate", "abm", "optimize"):
        outcome = run_cli([command, "--set", assignment, "--out", str(earlier)], real=False, cwd=tmp_path)
        line = assert_one_line_error(outcome, "(overrides)", field, expected)
        assert line.count("(overrides)") == 1
    assert [p.name for p in earlier.iterdir()] == ["summary.json"]
    assert (earlier / "summary.json").read_text() == "{}"


def test_library_errors_name_the_path_not_a_flag(japan):
    with pytest.raises(InputError) as caught:
        with_overrides(japan, [Override("threats[id=ddos].frequency.rate", -2.0)])
    assert caught.value.file == "(overrides)" and caught.value.field == "threats[id=ddos].frequency.rate"
