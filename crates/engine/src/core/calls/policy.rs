//! Account call policies in the call flow: incoming calls refused because the
//! caller is not permitted (403, kept as an ended call with reason `Denied`),
//! the auto-answer delay, and the maximum duration an account allows. The
//! policy itself (patterns, limits, validation) is `model::account::CallPolicy`;
//! outgoing calls are checked where they are placed.

use super::*;

/// The longest a call may last: the account's limit and the call's own, the
/// shorter of the two.
pub(super) fn max_duration(account: Option<u32>, own: Option<u32>) -> Option<Duration> {
    let secs = match (account, own) {
        (Some(a), Some(o)) => Some(a.min(o)),
        (a, o) => a.or(o),
    };
    secs.map(|s| Duration::from_secs(s.into()))
}

impl Core {
    /// An incoming INVITE the account's policy refused (the 403 is sent): the
    /// refusal is listed and stored as an ended incoming call with reason
    /// `Denied`, announced by `call.ended`. No dialog, media or timer is spent
    /// on it.
    pub(super) fn record_denied_call(&mut self, req: &Request, account: &str) {
        let at = Self::now_utc();
        let view = CallView {
            id: uuid::Uuid::new_v4().to_string(),
            account: account.to_owned(),
            direction: Direction::Incoming,
            from: req.head.from.uri.to_string(),
            to: req.head.to.uri.to_string(),
            state: CallState::Terminated,
            reason: Reason::Denied,
            sip_status: Some(StatusCode::FORBIDDEN.code()),
            sip_reason: Some(StatusCode::FORBIDDEN.default_reason().to_owned()),
            sip_call_id: req.head.call_id.clone(),
            codec: None,
            local_rtp: None,
            remote_rtp: None,
            created_at: at,
            answered_at: None,
            ended_at: Some(at),
            on_hold: false,
            remote_hold: false,
            dtmf: Vec::new(),
            playback: None,
            recordings: Vec::new(),
            media: None,
            early_media: false,
            waiting_for_registration: false,
            transfer: None,
            transferred_from: None,
            replaces: None,
        };
        tracing::info!(call = %view.id, account, from = %view.from, "incoming call denied by the account's policy");
        *self
            .counters
            .calls_started
            .entry(Direction::Incoming.as_str())
            .or_default() += 1;
        *self
            .counters
            .calls_ended
            .entry(Reason::Denied.as_str())
            .or_default() += 1;
        self.outputs.push_back(Output::SaveCall(CallRecord {
            id: view.id.clone(),
            account: view.account.clone(),
            direction: Direction::Incoming.as_str().into(),
            from_uri: view.from.clone(),
            to_uri: view.to.clone(),
            state: CallState::Terminated.as_str().into(),
            reason: Reason::Denied.as_str().into(),
            sip_status: view.sip_status,
            sip_reason: view.sip_reason.clone(),
            call_id: Some(view.sip_call_id.clone()),
            created_at: at,
            answered_at: None,
            ended_at: Some(at),
            codec: None,
            media_stats: None,
        }));
        let data = serde_json::to_value(&view).unwrap_or_default();
        self.emit(
            crate::model::event::kind::CALL_ENDED,
            Some(account),
            Some(&view.id),
            data,
            None,
        );
        self.remember_ended(view);
    }

    /// An auto-answer account's answer delay passed: answer, unless the call
    /// was answered, cancelled or rejected meanwhile.
    pub(crate) fn on_answer_delay(&mut self, id: &str, now: Instant) {
        self.answer_incoming(id, now);
    }
}
