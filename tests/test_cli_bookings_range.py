"""Regression: out-of-range dates through the booking CLI were tracebacks (#12, #13)."""

import pytest


@pytest.mark.parametrize("args", [
    ["booking", "list", "--from", "9999-12-31"],
    ["booking", "list", "--to", "0001-01-01"],
])
def test_booking_list_refuses_out_of_range_dates_in_one_line(runner, args):
    result = runner.invoke(args=args)
    assert result.exit_code == 1
    assert "between 1970 and 2199" in result.output and "Traceback" not in result.output


def test_booking_create_refuses_an_out_of_range_start_in_one_line(runner, make_client):
    client, _ = make_client()
    result = runner.invoke(args=["booking", "create", "--client", str(client.id),
                                 "--start", "9999-12-31T10:00", "--agenda", "x"])
    assert result.exit_code == 1
    assert "between 1970 and 2199" in result.output and "Traceback" not in result.output
