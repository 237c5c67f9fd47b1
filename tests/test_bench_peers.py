"""The pure parts of bench/peers.py and bench/peerkit.py (the bench itself installs the peers)."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import pytest
from support import ROOT


@pytest.fixture()
def bench(monkeypatch: pytest.MonkeyPatch) -> tuple[ModuleType, ModuleType]:
    monkeypatch.syspath_prepend(str(Path(ROOT) / "bench"))
    for name in ("peers", "peerkit", "intake"):
        sys.modules.pop(name, None)
    import peerkit
    import peers

    return peers, peerkit


def test_summary_line_gives_median_rates_and_mailbot_over_each_peer(
    bench: tuple[ModuleType, ModuleType],
) -> None:
    peers, _ = bench
    rates = {"mailbot": [30.0, 20.0, 25.0], "helpdesk": [10.0, None, 12.0], "roundup": [12.5]}
    assert peers.summary_line(rates, 3, True) == (
        "peers: mailbot=25.0 helpdesk=11.0 roundup=12.5 msgs/s mailbot_vs_helpdesk=2.27 "
        "mailbot_vs_roundup=2.00 rounds=3 counts_ok=True"
    )


def test_summary_line_says_nan_for_a_contender_without_a_figure(
    bench: tuple[ModuleType, ModuleType],
) -> None:
    peers, _ = bench
    line = peers.summary_line({"mailbot": [18.0], "helpdesk": [None], "roundup": []}, 1, False)
    assert line == (
        "peers: mailbot=18.0 helpdesk=nan roundup=nan msgs/s mailbot_vs_helpdesk=nan "
        "mailbot_vs_roundup=nan rounds=1 counts_ok=False"
    )


def test_each_contender_goes_first_in_turn(bench: tuple[ModuleType, ModuleType]) -> None:
    peers, _ = bench
    firsts = [peers.round_order(r)[0] for r in (1, 2, 3, 4)]
    assert firsts == ["mailbot", "helpdesk", "roundup", "mailbot"]
    assert all(sorted(peers.round_order(r)) == sorted(peers.CONTENDERS) for r in (1, 2, 3))


def test_dovecot_template_gains_a_port_143_listener_and_still_formats(
    bench: tuple[ModuleType, ModuleType],
) -> None:
    peers, _ = bench
    template = (
        "service imap-login {{\n  inet_listener imap {{\n    port = {port}\n  }}\n"
        "  inet_listener imaps {{\n    port = 0\n  }}\n}}\n"
    )
    conf = peers.with_port_143(template, "127.143.7.1").format(port=2143)
    assert "inet_listener imap_143 {\n    address = 127.143.7.1\n    port = 143\n  }" in conf
    assert "port = 2143" in conf and "inet_listener imaps {\n    port = 0" in conf
    with pytest.raises(RuntimeError):
        peers.with_port_143("no listeners here", "127.143.7.1")


def test_set_ini_sets_options_where_they_stand_even_commented_out(
    bench: tuple[ModuleType, ModuleType],
) -> None:
    _, peerkit = bench
    text = (
        "[main]\n# Default: 250000\npassword_pbkdf2_default_rounds = 250000\n"
        "[tracker]\n# Default: NO DEFAULT\n#web = NO DEFAULT\nemail = issue_tracker\n"
        "[mail]\nport = 25\n"
    )
    out = peerkit.set_ini(
        text,
        {
            "tracker": {"web": "http://localhost/"},
            "main": {"password_pbkdf2_default_rounds": "1000"},
        },
    )
    assert out == (
        "[main]\n# Default: 250000\npassword_pbkdf2_default_rounds = 1000\n"
        "[tracker]\n# Default: NO DEFAULT\nweb = http://localhost/\n"
        "email = issue_tracker\n[mail]\nport = 25\n"
    )


def test_set_ini_refuses_an_option_the_file_does_not_have(
    bench: tuple[ModuleType, ModuleType],
) -> None:
    _, peerkit = bench
    with pytest.raises(peerkit.PeerError, match=r"\[mail\] port"):
        peerkit.set_ini("[tracker]\nweb = x\n[mail]\nhost = h\n", {"mail": {"port": "25"}})


def test_roundup_sends_to_the_sink_and_answers_new_issues_with_cheap_hashing(
    bench: tuple[ModuleType, ModuleType],
) -> None:
    _, peerkit = bench
    target = peerkit.Target(
        "127.0.0.1",
        1143,
        "u@bench.test",
        "pw",
        "127.0.0.1",
        2525,
        "ictsupport@westshire.gov.uk",
        "Westshire Schools ICT Support",
    )
    settings = peerkit.roundup_settings(target)
    assert settings["mail"] == {"domain": "westshire.gov.uk", "host": "127.0.0.1", "port": "2525"}
    assert settings["tracker"]["email"] == "ictsupport"
    assert settings["nosy"] == {"messages_to_author": "new", "email_sending": "single"}
    assert settings["main"] == {"password_pbkdf2_default_rounds": "1000"}


def test_roundup_with_a_team_sends_each_recipient_an_email_of_their_own(
    bench: tuple[ModuleType, ModuleType],
) -> None:
    _, peerkit = bench
    target = peerkit.Target(
        "127.0.0.1",
        1143,
        "u@bench.test",
        "pw",
        "127.0.0.1",
        2525,
        "ictsupport@westshire.gov.uk",
        "Westshire Schools ICT Support",
        "servicedesk@westshire.gov.uk",
    )
    assert peerkit.roundup_settings(target)["nosy"]["email_sending"] == "multiple"


def test_mailbot_sends_two_emails_and_the_peers_as_many_as_asked(
    bench: tuple[ModuleType, ModuleType],
) -> None:
    peers, _ = bench
    assert [peers.emails_per_message(c, 1) for c in peers.CONTENDERS] == [2, 1, 1]
    assert [peers.emails_per_message(c, 2) for c in peers.CONTENDERS] == [2, 2, 2]
