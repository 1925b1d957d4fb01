from datetime import UTC, datetime

from chalicelib.models.contacts import Contact, contact_item, stored_datetime


def test_the_importers_raw_item_is_exactly_what_the_model_stores():
    moment = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)
    raw = contact_item(
        contact_list=7,
        msisdn="27815854565",
        contact_id=42,
        company=3,
        first_name="Thandi",
        last_name=None,
        email="t@example.co.za",
        fields={"city": "Johannesburg"},
        created=stored_datetime(moment),
        updated=stored_datetime(moment),
        import_id=9,
        import_row=12,
        import_created=True,
    )
    model = Contact(
        contact_list=7,
        msisdn="27815854565",
        id=42,
        company=3,
        first_name="Thandi",
        email="t@example.co.za",
        fields={"city": "Johannesburg"},
        date_created=moment,
        date_updated=moment,
        import_id=9,
        import_row=12,
        import_created=1,
    )
    assert raw == model.serialize()
    parsed = Contact.from_raw_data(raw)
    assert (parsed.first_name, parsed.last_name, parsed.fields.as_dict()) == (
        "Thandi",
        None,
        {"city": "Johannesburg"},
    )
    assert parsed.date_created == moment
