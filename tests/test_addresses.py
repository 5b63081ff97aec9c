"""Two copies of one session in one profile (restored into two project folders of it): each
has an address, ``PROFILE:PROJECT``, that every command reading one copy takes after --from;
``--from PROFILE`` alone is then ambiguous and exits 2 naming the addresses (issue 16)."""

from __future__ import annotations

import orjson
import pytest
from conftest import SHORT_ID

from archive.addresses import Place, addresses, pick
from archive.errors import UsageError


@pytest.fixture
def two_in_work(home, cli):
    """SHORT_ID in default, and twice in work: restored for /work/api, and that copy placed
    a second time for /work/web (as a second restore into another folder left it)."""
    cli("ingest", "--quiet")
    cli("restore", SHORT_ID, "--to", "work", "--project", "/work/api")
    api = home.session_file("work", "-work-api", SHORT_ID)
    web = home.session_file("work", "-work-web", SHORT_ID)
    web.parent.mkdir(parents=True)
    web.write_bytes(api.read_bytes().replace(b'"cwd":"/work/api"', b'"cwd":"/work/web"'))
    cli("ingest", "--quiet")
    return home


def test_sessions_gives_each_copy_its_address(two_in_work, cli, monkeypatch):
    (row,) = [r for r in cli.json("sessions", "--all") if r["session_id"] == SHORT_ID]
    assert row["profiles"] == ["default", "work", "work"]
    assert row["addresses"] == ["default", "work:api", "work:web"]
    assert [c["address"] for c in row["copies"]] == row["addresses"]
    for columns in ("200", "80"):
        monkeypatch.setenv("COLUMNS", columns)
        out = cli("sessions", "--all").stdout
        assert "default, work:api, work:web" in out, out


def test_from_a_profile_holding_two_copies_is_refused_with_the_addresses(two_in_work, cli):
    for args in (["show", SHORT_ID], ["versions", SHORT_ID], ["export", SHORT_ID, "-o", "-"],
                 ["cat", SHORT_ID], ["restore", SHORT_ID, "--to", "personal", "--dry-run"]):
        result = cli(*args, "--from", "work", code=2)
        assert "names 2 copies" in result.stderr, (args, result.stderr)
        assert "--from work:api, --from work:web" in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
    result = cli("diff", SHORT_ID, "--from", "work", "--from", "default", code=2)
    assert "--from work:api, --from work:web" in result.stderr


@pytest.mark.parametrize("address", ["work:web", "work:/work/web", "work:-work-web"])
def test_an_address_picks_one_copy_everywhere(two_in_work, cli, address):
    shown = cli.json("show", SHORT_ID, "--from", address)
    assert (shown["profile"], shown["project"]) == ("work", "/work/web")
    assert shown["path"] == f"projects/-work-web/{SHORT_ID}.jsonl"
    (version,) = cli.json("versions", SHORT_ID, "--from", address)
    assert version["path"] == shown["path"]
    exported = orjson.loads(cli("export", SHORT_ID, "--from", address, "--format", "json",
                                "-o", "-").stdout)
    assert exported["project"] == "/work/web"
    assert b'"cwd":"/work/web"' in cli("cat", SHORT_ID, "--from", address).stdout_bytes
    plan = cli.json("restore", SHORT_ID, "--to", "personal", "--from", address, "--dry-run")
    assert plan["files"][0]["source"].startswith(f"work/projects/-work-web/{SHORT_ID}")


def test_diff_compares_the_two_copies_of_one_profile(two_in_work, cli):
    data = cli.json("diff", SHORT_ID, "--from", "work:api", "--from", "work:/work/web")
    assert [c["address"] for c in data["copies"]] == ["work:api", "work:web"]
    assert [c["profile"] for c in data["copies"]] == ["work", "work"]
    out = cli("diff", SHORT_ID, "--from", "work:api", "--from", "work:web").stdout
    assert "work:api:" in out and "work:web:" in out
    result = cli("diff", SHORT_ID, "--from", "work:api", "--from", "work:/work/api", code=2)
    assert "name the same copy" in result.stderr


def test_show_without_from_says_which_copy_by_address(two_in_work, cli):
    result = cli("show", SHORT_ID)
    assert "copies also in default, work:" in result.stderr
    assert "(pick one with --from)" in result.stderr


def test_an_address_naming_nothing_lists_the_addresses(two_in_work, cli):
    result = cli("show", SHORT_ID, "--from", "work:nowhere", code=2)
    assert "no copy in 'work:nowhere'" in result.stderr
    assert "default, work:api, work:web" in result.stderr


def test_addresses_are_the_shortest_unique_ends():
    places = [Place("team", "/a/x/api", "projects/-a-x-api/s.jsonl"),
              Place("team", "/b/x/api", "projects/-b-x-api/s.jsonl"),
              Place("team", "/b/x/api", "projects/other/s.jsonl"),
              Place("home", None, "projects/-c/s.jsonl")]
    assert addresses(places) == ["team:a/x/api", "team:-b-x-api", "team:other", "home"]
    for i, address in enumerate(addresses(places)):
        assert pick(places, address, "s") == i
    with pytest.raises(UsageError, match="names 3 copies"):
        pick(places, "team", "s")
    with pytest.raises(UsageError, match="names 2 copies"):
        pick(places, "team:b/x/api", "s")


def test_resume_takes_an_address_for_each_of_its_uses(two_in_work, cli):
    """`resume --from work:web` resumes that copy where it is (not the first folder of the
    profile), restores that copy into another profile, and `--last --from work:web` reads
    the profile part."""
    here = cli("resume", SHORT_ID, "--from", "work:web", "--print")
    assert here.stdout.strip() == f"cd /work/web && ccs work --resume {SHORT_ID}"
    there = cli("resume", SHORT_ID, "--from", "work:web", "--to", "personal", "--print")
    assert there.stdout.strip().endswith(f"ccs personal --resume {SHORT_ID}")
    restored = two_in_work.session_file("personal", "-work-web", SHORT_ID)
    assert restored.is_file()
    assert b'"cwd":"/work/web"' in restored.read_bytes()
    last = cli("resume", "--last", "--from", "work:web", "--print")
    assert "ccs work --resume" in last.stdout


def test_search_hits_name_each_copy_by_its_address(two_in_work, cli, monkeypatch):
    """A hit of a copy in a profile holding two says which one (`work:web`), as `sessions`
    does; in the table at both widths too."""
    hits = [h for h in cli.json("search", "phx.server", "--limit", "50")
            if h["session_id"] == SHORT_ID]
    assert sorted(a for h in hits for a in h["addresses"]) == ["default", "work:api", "work:web"]
    for columns in ("200", "80"):
        monkeypatch.setenv("COLUMNS", columns)
        out = cli("search", "phx.server", "--limit", "50").stdout
        assert "work:api" in out and "work:web" in out, out
