//! Calls that wait for their account's registration: the INVITE goes out
//! only once a scripted registrar has accepted the account, a wait that lasts
//! too long ends the call with `RegistrationTimeout` (nothing sent), hanging
//! up a waiting call sends nothing either, and the waiting calls per account
//! are bounded.

use super::policy::{events_of, first_invite, place};
use super::*;
use crate::model::account::{AccountSettings, PasswordChange};

const PASSWORD: &str = "alicepw";

/// Adds account `alice` (registrar [`REGISTRAR`]) to A; returns the key and
/// generation of its registrar lookup, which the test answers when it wants
/// the registration to start.
fn add_alice(net: &mut Net) -> (String, u64) {
    let now = net.now();
    let mut settings = AccountSettings::default_account("127.0.0.1");
    settings.user = "alice".into();
    settings.registrar = Some(REGISTRAR.into());
    ask(&mut net.a, now, |reply| Command::CreateAccount {
        id: "alice".into(),
        settings,
        password: Some(PASSWORD.into()),
        reply,
    })
    .expect("account created");
    let lookup = net
        .a
        .outputs
        .iter()
        .find_map(|o| match o {
            Output::ResolveRegistrar {
                account,
                generation,
                ..
            } => Some((account.clone(), *generation)),
            _ => None,
        })
        .expect("A asks for the registrar's address");
    net.pump();
    lookup
}

/// Answers every REGISTER A sent since `*done` (the Net logs them as
/// dropped: they are not for B) until A sends no more.
fn serve_registrar(net: &mut Net, reg: &mut FakeRegistrar, done: &mut usize) {
    let registrar: SocketAddr = REGISTRAR.parse().unwrap();
    loop {
        net.pump();
        let pending: Vec<Request> = net.log[*done..]
            .iter()
            .filter(|p| p.to == registrar)
            .filter_map(|p| match &p.message {
                Message::Request(r) => Some(r.clone()),
                Message::Response(_) => None,
            })
            .collect();
        *done = net.log.len();
        if pending.is_empty() {
            return;
        }
        for req in pending {
            let resp = reg.answer(&req, net.offset.as_secs());
            let now = net.now();
            net.a.receive(
                Inbound {
                    message: parse(&resp.to_bytes()),
                    source: registrar,
                    transport: Transport::Udp,
                },
                now,
            );
        }
    }
}

/// The registrar becomes reachable (A's lookup answers) and accepts alice
/// (401, then 200); returns what it saw.
fn register_alice(net: &mut Net, key: &str, generation: u64) -> FakeRegistrar {
    let now = net.now();
    net.a.on_registrar_resolved(
        key,
        generation,
        Ok(Resolved {
            transport: Transport::Udp,
            addrs: vec![REGISTRAR.parse().unwrap()],
        }),
        now,
    );
    let mut reg = FakeRegistrar {
        digest: DigestServer::new([4; 32]),
        rng: StdRng::seed_from_u64(5),
        granted: 3600,
        password: PASSWORD,
        seen: Vec::new(),
    };
    let mut done = 0;
    serve_registrar(net, &mut reg, &mut done);
    reg
}

fn waiting_call(net: &mut Net, secs: u32) -> Result<CallView, EngineError> {
    place(
        net,
        PlaceCall {
            account: "alice".into(),
            wait_for_registration_secs: Some(secs),
            ..Default::default()
        },
    )
}

fn registration_state(net: &mut Net) -> RegistrationState {
    let now = net.now();
    get_account(&mut net.a, now, "alice").registration.state
}

#[test]
fn a_waiting_call_goes_out_once_the_account_registers() {
    let mut net = Net::new(46, calls(60, 60), calls(60, 60), true);
    let (key, generation) = add_alice(&mut net);
    assert_eq!(registration_state(&mut net), RegistrationState::Registering);

    let v = waiting_call(&mut net, 30).expect("placed");
    assert_eq!(v.state, CallState::Calling);
    assert!(v.waiting_for_registration, "{v:?}");
    assert_eq!(net.count_sent(true, "INVITE"), 0);
    // It waits through seconds of registrar silence.
    net.run_for(Duration::from_secs(3));
    let waiting = net.a_call(&v.id);
    assert!(waiting.waiting_for_registration && waiting.state == CallState::Calling);
    assert_eq!(net.count_sent(true, "INVITE"), 0);

    // The registrar becomes reachable and accepts alice (401, then 200).
    let reg = register_alice(&mut net, &key, generation);
    assert_eq!(reg.seen.len(), 2, "REGISTER, then with credentials");
    assert_eq!(registration_state(&mut net), RegistrationState::Registered);

    // The INVITE went out after the 200 to the REGISTER, and B answered.
    let last_register = net
        .log
        .iter()
        .rposition(|p| label(&p.message) == "REGISTER")
        .expect("REGISTERs");
    let (at, invite) = first_invite(&net);
    assert!(
        at > last_register,
        "INVITE before the registration completed"
    );
    assert_eq!(net.count_sent(true, "INVITE"), 1);
    let a = net.a_call(&v.id);
    assert!(!a.waiting_for_registration, "{a:?}");
    assert_eq!(a.state, CallState::Active);
    assert_eq!(
        invite
            .head
            .from
            .uri
            .as_sip()
            .and_then(|u| u.user.as_deref()),
        Some("alice")
    );
    // One event says the INVITE went out, before the call rang.
    let kinds: Vec<String> = net
        .events
        .iter()
        .filter(|(a, e)| *a && e.call.as_deref() == Some(v.id.as_str()))
        .map(|(_, e)| e.kind.clone())
        .collect();
    assert_eq!(
        kinds,
        [
            "call.created",
            "call.state_changed",
            "call.ringing",
            "call.answered"
        ]
    );
    assert_eq!(
        events_of(&net, true, "call.created")[0].data["waiting_for_registration"],
        true
    );

    // Registered now: the next call does not wait at all.
    let next = waiting_call(&mut net, 30).expect("placed");
    assert!(!next.waiting_for_registration);
    assert_eq!(net.count_sent(true, "INVITE"), 2);
}

#[test]
fn a_wait_that_lasts_too_long_ends_with_registration_timeout() {
    let mut net = Net::new(47, calls(60, 60), calls(60, 60), true);
    add_alice(&mut net);
    let v = waiting_call(&mut net, 5).expect("placed");
    net.run_for(Duration::from_millis(4999));
    assert_eq!(net.a_call(&v.id).state, CallState::Calling);
    net.run_for(Duration::from_millis(1));
    let a = net.a_call(&v.id);
    assert!(ended(&a), "{a:?}");
    assert_eq!(a.reason, Reason::RegistrationTimeout);
    assert!(!a.waiting_for_registration);
    assert_eq!(a.sip_status, None);
    assert!(net.log.is_empty(), "nothing sent: {:?}", net.sent(true));
    assert_eq!(net.a.active_calls(), 0);
    let ended_events = events_of(&net, true, "call.ended");
    assert_eq!(ended_events.len(), 1);
    assert_eq!(ended_events[0].data["reason"], "RegistrationTimeout");
    // Its RTP ports are free again: the call left the table.
    assert!(!net.a.calls.contains_key(&v.id));
}

#[test]
fn hanging_up_a_waiting_call_sends_nothing() {
    let mut net = Net::new(48, calls(60, 60), calls(60, 60), true);
    let (key, generation) = add_alice(&mut net);
    let v = waiting_call(&mut net, 60).expect("placed");
    let hung = net.hangup_a(&v.id);
    assert!(ended(&hung), "{hung:?}");
    assert_eq!(hung.reason, Reason::Terminated);
    assert!(
        !net.a.calls.contains_key(&v.id),
        "no lingering for a call never sent"
    );
    // The account registering later sends no INVITE for it.
    register_alice(&mut net, &key, generation);
    assert_eq!(registration_state(&mut net), RegistrationState::Registered);
    net.run_for(Duration::from_secs(70));
    assert_eq!(net.count_sent(true, "INVITE"), 0);
    assert_eq!(net.count_sent(true, "CANCEL"), 0);
}

#[test]
fn waiting_calls_are_bounded_per_account_and_ignored_without_registrar() {
    let mut net = Net::new(49, calls(60, 60), calls(60, 60), true);
    add_alice(&mut net);
    for _ in 0..32 {
        waiting_call(&mut net, 60).expect("placed");
    }
    let full = waiting_call(&mut net, 60);
    assert!(matches!(full, Err(EngineError::Unavailable(_))), "{full:?}");
    // Without a registrar there is nothing to wait for: the INVITE goes now.
    let direct = place(
        &mut net,
        PlaceCall {
            account: "default".into(),
            wait_for_registration_secs: Some(60),
            ..Default::default()
        },
    )
    .expect("placed");
    assert!(!direct.waiting_for_registration);
    assert_eq!(net.count_sent(true, "INVITE"), 1);
    // Removing alice's registrar releases her waiting calls at once.
    let now = net.now();
    let mut settings = get_account(&mut net.a, now, "alice").settings;
    settings.registrar = None;
    ask(&mut net.a, now, |reply| Command::UpdateAccount {
        id: "alice".into(),
        settings,
        password: PasswordChange::Keep,
        reply,
    })
    .expect("updated");
    net.pump();
    assert_eq!(net.count_sent(true, "INVITE"), 33);
    assert!(PlaceCall {
        account: "a".into(),
        to: "sip:x@127.0.0.1".into(),
        wait_for_registration_secs: Some(301),
        ..Default::default()
    }
    .validate()
    .is_err());
}
