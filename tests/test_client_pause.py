"""The pause state of reference/client_pause.py: purposes, the type in force, its end."""
from reference.client_pause import (ALL, BY_CLIENT_COMMAND, DURING_FAILOVER, DURING_SHUTDOWN, FOREVER, OFF,
                                    WRITE, ClientPause, wrap_int64)


def test_nothing_paused_at_first():
    pause = ClientPause()
    assert not pause.active and pause.type == OFF
    assert not pause.holds(may_replicate=True)
    assert pause.check(now_ms=10) is False


def test_write_holds_only_what_may_replicate_all_holds_everything():
    pause = ClientPause()
    pause.pause(BY_CLIENT_COMMAND, 1000, WRITE, now_ms=0)
    assert pause.holds(True) and not pause.holds(False)
    pause.pause(BY_CLIENT_COMMAND, 1000, ALL, now_ms=0)
    assert pause.holds(True) and pause.holds(False)


def test_pausing_again_widens_never_narrows():
    pause = ClientPause()
    pause.pause(BY_CLIENT_COMMAND, 5000, WRITE, now_ms=0)
    pause.pause(BY_CLIENT_COMMAND, 10, ALL, now_ms=0)
    assert (pause.type, pause.end_ms) == (ALL, 5000)
    pause.pause(BY_CLIENT_COMMAND, 0, WRITE, now_ms=0)  # (a pause of 0 changes nothing)
    assert (pause.type, pause.end_ms) == (ALL, 5000)


def test_the_end_is_noticed_by_check_and_loosens():
    pause = ClientPause()
    pause.pause(BY_CLIENT_COMMAND, 100, ALL, now_ms=0)
    assert pause.check(now_ms=100) is False  # not past its end yet (Redis: end < now)
    assert pause.check(now_ms=101) is True
    assert not pause.active


def test_an_end_already_past_pauses_nothing():
    pause = ClientPause()
    assert pause.pause(BY_CLIENT_COMMAND, wrap_int64(FOREVER + 50), ALL, now_ms=1000) is False
    assert not pause.active


def test_purposes_are_separate_and_the_strictest_wins():
    pause = ClientPause()
    pause.pause(DURING_FAILOVER, FOREVER, WRITE, now_ms=0)
    pause.pause(BY_CLIENT_COMMAND, 2000, ALL, now_ms=0)
    assert (pause.type, pause.end_ms) == (ALL, 2000)
    assert pause.unpause(BY_CLIENT_COMMAND, now_ms=1) is True  # ALL -> WRITE: held commands retried
    assert (pause.type, pause.end_ms) == (WRITE, FOREVER)
    assert pause.unpause(DURING_SHUTDOWN, now_ms=1) is False  # none for that purpose
    assert pause.unpause(DURING_FAILOVER, now_ms=1) is True
    assert not pause.active


def test_the_latest_end_among_the_strictest_type():
    pause = ClientPause()
    pause.pause(BY_CLIENT_COMMAND, 300, WRITE, now_ms=0)
    pause.pause(DURING_SHUTDOWN, 900, WRITE, now_ms=0)
    assert pause.end_ms == 900
    assert pause.check(now_ms=301) is False  # still WRITE, the shutdown's
    assert pause.type == WRITE


def test_wrap_int64_overflows_as_c_does():
    assert wrap_int64(FOREVER + 1) == -(1 << 63)
    assert wrap_int64(5) == 5
