"""Which sender an opt-out or a deployment names: numbers read in the company's region, opt-outs stored
before senders were normalised and folded, and numbers the operator moved to another company."""

from chalicelib.aws import client
from chalicelib.domain.accounts import sender_numbers
from chalicelib.domain.contacts import optouts
from chalicelib.domain.deployments import approvals
from chalicelib.models.deployments import Deployment
from chalicelib.models.optouts import SENDER_SCOPE, OptOut, suppression_key, suppressions_table
from tests.factories import (
    create_contact_list,
    create_contacts,
    create_optout,
    create_tenant,
    pending_deployment,
)

SUBSCRIBER = "27815854565"
NAMIBIAN = "264811234567"


def test_an_api_opt_out_scoped_to_a_national_sender_blocks_that_senders_deployments(api, aws):
    # A Namibian company owns 061 234 5678; a draft from it stores the sender read in NA (264...)
    tenant = create_tenant("Windhoek", default_region="NA")
    sender_numbers.assign(tenant.id, "061 234 5678")
    draft = api.post(
        "/deployments",
        tenant.member,
        {"title": "t", "message": "m", "contact_lists": [], "sender": "0612345678"},
    )
    assert draft.status == 201, draft.body
    # The subscriber's opt-out of that sender, recorded through the API in the same spelling
    recorded = api.post("/optouts", tenant.member, {"originator": NAMIBIAN, "sender": "061 234 5678"})
    assert recorded.status == 201, recorded.body
    # ...must block the deployment's sends (it is scoped as ZA reads the number: 27612345678)
    assert optouts.opted_out(tenant.id, draft.body["sender"], [NAMIBIAN]) == {NAMIBIAN}


def test_an_opt_out_recorded_before_numbers_were_normalised_still_blocks_its_sender(aws):
    # The old rule stored a numeric sender as typed (digits, no `+`): an opt-out of 0821234567 held that
    tenant = create_tenant("Old")
    create_optout(tenant.id, SUBSCRIBER, sender="0821234567")
    # A deployment from that number (stored before, or normalised now) must not reach the subscriber
    assert optouts.opted_out(tenant.id, "0821234567", [SUBSCRIBER]) == {SUBSCRIBER}
    assert optouts.opted_out(tenant.id, "27821234567", [SUBSCRIBER]) == {SUBSCRIBER}


def test_an_opt_out_stored_before_names_were_folded_blocks_its_sender_in_any_case(aws):
    # Before 7984cc8 a scope held the name as typed: an opt-out of `Acme` was held under sender:Acme
    tenant = create_tenant("Folded")
    optout = create_optout(tenant.id, SUBSCRIBER, sender="Acme")
    client("dynamodb").update_item(
        TableName=suppressions_table(),
        Key=suppression_key(tenant.id, SUBSCRIBER),
        UpdateExpression="REMOVE #new SET #old = :id",
        ExpressionAttributeNames={"#new": f"{SENDER_SCOPE}ACME", "#old": f"{SENDER_SCOPE}Acme"},
        ExpressionAttributeValues={":id": {"N": str(optout.id)}},
    )
    OptOut(company=tenant.id, id=optout.id).update(actions=[OptOut.scope.remove()])
    assert optouts.opted_out(tenant.id, "Acme", [SUBSCRIBER]) == {SUBSCRIBER}  # the older rule still holds
    # ACME, Acme and acme are one sender (7984cc8): a deployment from ACME must not reach the subscriber
    assert optouts.opted_out(tenant.id, "ACME", [SUBSCRIBER]) == {SUBSCRIBER}


def test_a_number_taken_from_a_company_is_not_sent_from_by_its_earlier_drafts(api, tenants):
    acme, bravo = tenants
    sender_numbers.assign(acme.id, "27821234567")
    contact_list = create_contact_list(acme.id)
    create_contacts(acme.id, contact_list.id, SUBSCRIBER)
    draft = pending_deployment(acme, [contact_list.id], sender="27821234567")
    # The operator moves the number to Bravo: replies and STOPs to it now reach Bravo alone
    sender_numbers.remove(acme.id, "27821234567")
    sender_numbers.assign(bravo.id, "27821234567")
    answer = api.post(f"/deployments/{draft.id}/approve", acme.approver)
    frozen = Deployment.get(acme.id, draft.id).frozen_sender
    assert not (answer.status == 200 and frozen == "27821234567"), (answer.status, frozen)


def test_a_number_removed_while_its_deployment_is_being_approved_is_not_sent_from(api, tenants, monkeypatch):
    # Given a pending deployment from Acme's own number
    acme, bravo = tenants
    sender_numbers.assign(acme.id, "27821234567")
    contact_list = create_contact_list(acme.id)
    create_contacts(acme.id, contact_list.id, SUBSCRIBER)
    draft = pending_deployment(acme, [contact_list.id], sender="27821234567")
    freeze = approvals.freeze

    def number_moves_meanwhile(deployment, company):
        quote = freeze(deployment, company)
        # the operator moves the number to Bravo while the approval freezes the audience
        sender_numbers.remove(acme.id, "27821234567")
        sender_numbers.assign(bravo.id, "27821234567")
        return quote

    monkeypatch.setattr(approvals, "freeze", number_moves_meanwhile)
    answer = api.post(f"/deployments/{draft.id}/approve", acme.approver)
    # Then the approval must not leave Acme sending from Bravo's number
    frozen = Deployment.get(acme.id, draft.id, consistent_read=True)
    assert not (frozen.status != 1 and frozen.frozen_sender == "27821234567"), (answer.status, frozen.status)
