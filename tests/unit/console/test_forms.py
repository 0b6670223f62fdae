from werkzeug.datastructures import MultiDict

from chaos.model import SETTABLE
from console.forms import GREMLIN_FIELDS, gremlin_body, line_errors, order_lines


def test_empty_order_lines_are_left_out_and_each_item_remembers_its_row():
    form = MultiDict(
        [
            ("sku", ""),
            ("quantity", ""),
            ("sku", "A-1"),
            ("quantity", "2"),
            ("sku", " B-2 "),
            ("quantity", "5"),
        ]
    )
    items, rows = order_lines(form)
    assert items == [{"sku": "A-1", "quantity": 2}, {"sku": "B-2", "quantity": 5}]
    assert rows == [1, 2]


def test_a_quantity_that_is_not_a_number_goes_to_the_api_as_written():
    items, _ = order_lines(MultiDict([("sku", "A-1"), ("quantity", "two")]))
    assert items == [{"sku": "A-1", "quantity": "two"}]


def test_no_line_is_dropped_however_many_there_are():
    form = MultiDict([(k, v) for i in range(60) for k, v in (("sku", f"S-{i}"), ("quantity", "1"))])
    items, rows = order_lines(form)
    assert len(items) == 60 and rows[-1] == 59  # the API refuses past 50, and says so


def test_api_messages_about_an_item_land_beside_its_form_row():
    placed = line_errors({"items.1.quantity": ["too many"], "items": ["bad"]}, rows=[0, 3])
    assert placed == {"line-3-quantity": ["too many"], "items": ["bad"]}


def test_the_gremlin_form_has_every_field_the_command_line_has():
    assert [f.name for f in GREMLIN_FIELDS] == [*SETTABLE, "ttl_s"]
    kind = next(f for f in GREMLIN_FIELDS if f.name == "kind")
    assert kind.input == "select" and "latency" in kind.choices


def test_only_the_gremlin_fields_filled_in_are_sent_with_numbers_as_numbers():
    form = MultiDict(
        {
            "kind": "latency",
            "delay_ms": "3000",
            "probability": "0.5",
            "method": "",
            "path": "/api/v1/reservations/*",
            "ttl_s": "60",
        }
    )
    name, body = gremlin_body(form)
    assert name == "latency"
    assert body == {
        "kind": "latency",
        "delay_ms": 3000,
        "probability": 0.5,
        "path": "/api/v1/reservations/*",
        "ttl_s": 60,
    }


def test_a_named_gremlin_keeps_its_name():
    name, _ = gremlin_body(MultiDict({"kind": "error", "name": "flaky"}))
    assert name == "flaky"
