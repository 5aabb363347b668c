//! Account call policies between two simulated cores: callers a policy
//! refuses get 403 and leave a `Denied` call record, callees it refuses are
//! `Forbidden` before anything is sent, an auto-answer account rings for its
//! answer delay (a CANCEL meanwhile ends the call normally), and the account's
//! maximum duration hangs up calls both ways.

use super::*;
use crate::model::account::CallPolicy;

/// Replaces `account`'s call policy on `core`.
pub(super) fn set_policy(core: &mut Core, now: Instant, account: &str, policy: CallPolicy) {
    let mut settings = get_account(core, now, account).settings;
    settings.policy = policy;
    settings.validate().expect("a valid policy");
    let id = account.to_owned();
    ask(core, now, |reply| Command::UpdateAccount {
        id,
        settings,
        password: crate::model::account::PasswordChange::Keep,
        reply,
    })
    .expect("account updated");
}

/// Places a call from A to B with these options.
pub(super) fn place(net: &mut Net, call: PlaceCall) -> Result<CallView, EngineError> {
    let now = net.now();
    let call = PlaceCall {
        to: "default@127.0.0.2:5060".into(),
        ..call
    };
    let target = crate::core::target::parse_callee(&call.to).expect("callee parses");
    let resolved = Resolved {
        transport: Transport::Udp,
        addrs: vec![addr(B_IP)],
    };
    let result = ask(&mut net.a, now, |reply| Command::PlaceCall {
        call,
        target,
        resolved,
        reply,
    });
    net.pump();
    result
}

/// B's events of one kind, in order.
pub(super) fn events_of<'a>(
    net: &'a Net,
    from_a: bool,
    kind: &str,
) -> Vec<&'a crate::model::event::Event> {
    net.events
        .iter()
        .filter(|(a, e)| *a == from_a && e.kind == kind)
        .map(|(_, e)| e)
        .collect()
}

/// The first INVITE A sent and where it stands in the log.
pub(super) fn first_invite(net: &Net) -> (usize, Request) {
    net.log
        .iter()
        .enumerate()
        .find_map(|(i, p)| match &p.message {
            Message::Request(r) if r.method == Method::Invite => Some((i, r.clone())),
            _ => None,
        })
        .expect("an INVITE")
}

/// When (virtual) the first message `from_a` with this label went out.
fn sent_at(net: &Net, from_a: bool, what: &str) -> Option<Duration> {
    let src = if from_a { addr(A_IP) } else { addr(B_IP) };
    net.log
        .iter()
        .find(|p| p.from == src && label(&p.message) == what)
        .map(|p| p.at)
}

#[test]
fn a_caller_the_policy_denies_gets_403_and_a_denied_record() {
    let mut net = Net::new(40, calls(60, 60), calls(60, 60), true);
    let now = net.now();
    // A calls as default@127.0.0.1.
    set_policy(
        &mut net.b,
        now,
        "default",
        CallPolicy {
            allow: vec!["*@127.0.0.*".into()],
            deny: vec!["default@127.0.0.1".into()],
            ..Default::default()
        },
    );
    let a_id = net.place_call(None).id;
    let a = net.a_call(&a_id);
    assert!(ended(&a), "{a:?}");
    assert_eq!(a.sip_status, Some(403));
    assert_eq!(a.reason, Reason::Denied);
    assert_eq!(
        net.count_sent(false, "403 INVITE"),
        1,
        "{:?}",
        net.sent(false)
    );
    assert_eq!(net.count_sent(false, "180 INVITE"), 0);
    assert!(net.sent(true).contains(&"ACK".to_owned()), "A ACKs the 403");
    // B spent no call on it, but lists and stores the refusal.
    assert_eq!(net.b.active_calls(), 0);
    assert!(net.b.calls.is_empty() && net.b.dialogs.is_empty());
    let b = net.b_incoming().expect("the refused call is listed");
    assert!(ended(&b), "{b:?}");
    assert_eq!(b.reason, Reason::Denied);
    assert_eq!(b.sip_status, Some(403));
    assert_eq!(b.sip_call_id, a.sip_call_id);
    assert!(b.from.contains("default@127.0.0.1"), "{b:?}");
    assert_eq!(net.b_call(&b.id).reason, Reason::Denied);
    let ended_events = events_of(&net, false, "call.ended");
    assert_eq!(ended_events.len(), 1);
    assert_eq!(ended_events[0].data["reason"], "Denied");
    assert_eq!(ended_events[0].call.as_deref(), Some(b.id.as_str()));
    assert_eq!(net.b.counters.calls_ended.get("Denied"), Some(&1));

    // A retransmitted INVITE is answered by its transaction: no second record.
    net.run_for(Duration::from_secs(5));
    assert_eq!(events_of(&net, false, "call.ended").len(), 1);

    // An allow list the caller is not on refuses too; one it is on lets it in.
    let now = net.now();
    set_policy(
        &mut net.b,
        now,
        "default",
        CallPolicy {
            allow: vec!["someone@elsewhere".into()],
            ..Default::default()
        },
    );
    let a2 = net.place_call(None).id;
    assert_eq!(net.a_call(&a2).sip_status, Some(403));
    let now = net.now();
    set_policy(
        &mut net.b,
        now,
        "default",
        CallPolicy {
            allow: vec!["DEFAULT@127.0.0.?".into()],
            ..Default::default()
        },
    );
    let a3 = net.place_call(None).id;
    assert_eq!(net.a_call(&a3).state, CallState::Active);
}

#[test]
fn a_callee_the_policy_denies_is_forbidden_before_anything_is_sent() {
    let mut net = Net::new(41, calls(60, 60), calls(60, 60), true);
    let now = net.now();
    set_policy(
        &mut net.a,
        now,
        "default",
        CallPolicy {
            deny: vec!["*@127.0.0.2".into()],
            ..Default::default()
        },
    );
    let refused = place(
        &mut net,
        PlaceCall {
            account: "default".into(),
            ..Default::default()
        },
    );
    let Err(EngineError::Forbidden(message)) = refused else {
        panic!("expected Forbidden, got {refused:?}");
    };
    assert!(message.contains("default@127.0.0.2"), "{message}");
    assert!(net.log.is_empty(), "nothing sent: {:?}", net.sent(true));
    assert_eq!(net.a.active_calls(), 0);
    assert!(events_of(&net, true, "call.created").is_empty());
}

#[test]
fn answer_delay_rings_first_then_answers() {
    let mut net = Net::new(42, calls(60, 60), calls(60, 60), true);
    let now = net.now();
    set_policy(
        &mut net.b,
        now,
        "default",
        CallPolicy {
            answer_delay_ms: 1500,
            ..Default::default()
        },
    );
    let a_id = net.place_call(None).id;
    assert_eq!(sent_at(&net, false, "180 INVITE"), Some(Duration::ZERO));
    assert_eq!(net.a_call(&a_id).state, CallState::Ringing);
    let b_id = net.b_incoming().expect("B rings").id;
    assert_eq!(net.b_call(&b_id).state, CallState::Ringing);
    net.run_for(Duration::from_millis(1499));
    assert_eq!(net.count_sent(false, "200 INVITE"), 0);
    net.run_for(Duration::from_millis(1));
    assert_eq!(
        sent_at(&net, false, "200 INVITE"),
        Some(Duration::from_millis(1500))
    );
    assert_eq!(net.a_call(&a_id).state, CallState::Active);
    let b = net.b_call(&b_id);
    assert_eq!(b.state, CallState::Active);
    assert_eq!(b.reason, Reason::AcceptedByDevice);
}

#[test]
fn a_cancel_during_the_answer_delay_ends_the_call_normally() {
    let mut net = Net::new(43, calls(60, 60), calls(60, 60), true);
    let now = net.now();
    set_policy(
        &mut net.b,
        now,
        "default",
        CallPolicy {
            answer_delay_ms: 3000,
            ..Default::default()
        },
    );
    let a_id = net.place_call(None).id;
    let b_id = net.b_incoming().expect("B rings").id;
    net.run_for(Duration::from_secs(1));
    net.hangup_a(&a_id);
    let b = net.b_call(&b_id);
    assert!(ended(&b), "{b:?}");
    assert_eq!(b.reason, Reason::Terminated);
    assert_eq!(b.sip_status, Some(487));
    assert_eq!(net.count_sent(false, "487 INVITE"), 1);
    // The delay's end answers nothing.
    net.run_for(Duration::from_secs(5));
    assert_eq!(
        net.count_sent(false, "200 INVITE"),
        0,
        "{:?}",
        net.sent(false)
    );
    let a = net.a_call(&a_id);
    assert!(ended(&a), "{a:?}");
    assert_eq!(a.reason, Reason::Terminated);
    assert_eq!(net.b.active_calls(), 0);
}

#[test]
fn the_account_max_duration_hangs_up_incoming_calls() {
    let mut net = Net::new(44, calls(60, 60), calls(60, 60), true);
    let now = net.now();
    set_policy(
        &mut net.b,
        now,
        "default",
        CallPolicy {
            max_duration_secs: Some(3),
            ..Default::default()
        },
    );
    let a_id = net.place_call(None).id;
    let b_id = net.b_incoming().expect("B answered").id;
    net.run_for(Duration::from_millis(2990));
    assert_eq!(net.count_sent(false, "BYE"), 0);
    net.run_for(Duration::from_millis(20));
    assert_eq!(sent_at(&net, false, "BYE"), Some(Duration::from_secs(3)));
    let b = net.b_call(&b_id);
    assert!(ended(&b), "{b:?}");
    assert_eq!(b.reason, Reason::Terminated);
    assert!(ended(&net.a_call(&a_id)));
}

#[test]
fn the_shorter_of_account_and_call_max_duration_wins_on_outgoing_calls() {
    for (policy, own, expect) in [(4, Some(6), 4), (6, Some(2), 2), (5, None, 5)] {
        let mut net = Net::new(45, calls(60, 60), calls(60, 60), true);
        let now = net.now();
        set_policy(
            &mut net.a,
            now,
            "default",
            CallPolicy {
                max_duration_secs: Some(policy),
                ..Default::default()
            },
        );
        let a_id = place(
            &mut net,
            PlaceCall {
                account: "default".into(),
                max_duration_secs: own,
                ..Default::default()
            },
        )
        .expect("placed")
        .id;
        assert_eq!(net.a_call(&a_id).state, CallState::Active);
        net.run_for(Duration::from_secs(10));
        assert_eq!(
            sent_at(&net, true, "BYE"),
            Some(Duration::from_secs(expect)),
            "policy {policy}, call {own:?}"
        );
        assert_eq!(net.count_sent(false, "BYE"), 0);
        assert_eq!(net.a_call(&a_id).reason, Reason::Terminated);
    }
}
