"""Thread plumbing of the app: the drop-oldest queue between stages and the gate to the GUI."""

import threading

from app.queues import DropOldestQueue, GuiGate, RateMeter


def test_full_queue_drops_oldest_item_instead_of_blocking():
    queue = DropOldestQueue(2)
    assert queue.put(1) is False and queue.put(2) is False
    assert queue.put(3) is True
    assert [queue.get(0), queue.get(0)] == [2, 3]
    assert queue.dropped == 1


def test_get_on_empty_queue_returns_none_after_timeout():
    assert DropOldestQueue(1).get(0.01) is None


def test_get_wakes_when_another_thread_puts():
    queue = DropOldestQueue(1)
    threading.Timer(0.05, queue.put, args=("frame",)).start()
    assert queue.get(5.0) == "frame"


def test_gui_gate_limits_frames_in_flight_until_shown():
    gate = GuiGate(2)
    assert gate.try_enter() and gate.try_enter()
    assert not gate.try_enter()
    gate.leave()
    assert gate.try_enter()


def test_rate_meter_counts_events_per_second():
    meter = RateMeter(window=2.0)
    for i in range(31):
        meter.tick(now=10.0 + i / 30)
    assert abs(meter.rate(now=11.0) - 30.0) < 1e-6
    assert meter.rate(now=20.0) == 0.0


def test_rate_of_bursty_frames_is_their_average_not_the_burst_speed():
    meter = RateMeter(window=2.0)
    for chunk in range(20):  # 3 frames at once every 0.1 s: 30 frames per second on average
        for _ in range(3):
            meter.tick(now=10.0 + chunk * 0.1)
    assert 25.0 <= meter.rate(now=12.0) <= 31.0
    fresh = RateMeter(window=2.0)
    for _ in range(3):
        fresh.tick(now=5.0)
    assert fresh.rate(now=5.0) <= 4.0  # one burst is not thousands of frames per second
