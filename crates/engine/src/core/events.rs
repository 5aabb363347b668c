//! The core's side of the event stream: numbering events in the order things
//! happen, and turning call, account and media changes into events.

use crate::model::call::CallState;
use crate::model::event::{kind, Event};

use super::{Core, Output};

/// What was last published about a call: its state, hold flags and whether
/// it waits for its account's registration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CallMark {
    pub state: CallState,
    pub on_hold: bool,
    pub remote_hold: bool,
    pub waiting: bool,
}

impl Core {
    /// Queues an event with the next seq.
    pub(crate) fn emit(
        &mut self,
        kind: &str,
        account: Option<&str>,
        call: Option<&str>,
        data: serde_json::Value,
        detail: Option<serde_json::Value>,
    ) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.outputs.push_back(Output::Event(Event {
            seq,
            id: uuid::Uuid::new_v4().to_string(),
            kind: kind.to_owned(),
            at: chrono::Utc::now(),
            account: account.map(str::to_owned),
            call: call.map(str::to_owned),
            data,
            detail,
        }));
    }

    /// Publishes what changed about a call since its last event: created,
    /// ringing, answered, ended, another state change (including the INVITE
    /// of a call that waited for registration going out), hold.
    pub(crate) fn call_changed(&mut self, id: &str) {
        let Some(call) = self.calls.get(id) else {
            return;
        };
        // Saves without a visible change are the common case: compare first,
        // build the view only for an event.
        let now = call.current_mark();
        let before = call.mark();
        if before == Some(now) {
            return;
        }
        let view = call.view();
        let account = view.account.clone();
        let data = serde_json::to_value(&view).unwrap_or_default();
        let mut kinds = Vec::new();
        if before.is_none() {
            kinds.push(kind::CALL_CREATED);
        }
        if before.map(|b| b.state) != Some(now.state) {
            match now.state {
                CallState::Calling => {}
                CallState::Ringing => kinds.push(kind::CALL_RINGING),
                CallState::Active => kinds.push(kind::CALL_ANSWERED),
                CallState::Terminated => kinds.push(kind::CALL_ENDED),
                CallState::Terminating => kinds.push(kind::CALL_STATE_CHANGED),
            }
        } else if before.is_some_and(|b| b.waiting != now.waiting) {
            kinds.push(kind::CALL_STATE_CHANGED);
        }
        if before.is_some_and(|b| (b.on_hold, b.remote_hold) != (now.on_hold, now.remote_hold)) {
            kinds.push(kind::CALL_HOLD_CHANGED);
        }
        for k in kinds {
            self.emit(k, Some(&account), Some(id), data.clone(), None);
        }
        if let Some(call) = self.calls.get_mut(id) {
            call.set_mark(now);
        }
    }

    /// A call event with a detail (DTMF digit, playback, recording).
    pub(crate) fn call_detail_event(&mut self, id: &str, kind: &str, detail: serde_json::Value) {
        let Some(call) = self.calls.get(id) else {
            return;
        };
        let view = call.view();
        let account = view.account.clone();
        let data = serde_json::to_value(&view).unwrap_or_default();
        self.emit(kind, Some(&account), Some(id), data, Some(detail));
    }

    /// An account event with the account's view.
    pub(crate) fn account_event(&mut self, id: &str, kind: &str) {
        let data = match self.accounts.get(id) {
            Some(a) => serde_json::to_value(a.view()).unwrap_or_default(),
            None => serde_json::json!({ "id": id }),
        };
        self.emit(kind, Some(id), None, data, None);
    }

    /// The seq the next event gets (set by the driver from the store at start).
    pub(crate) fn set_next_seq(&mut self, seq: u64) {
        self.next_seq = self.next_seq.max(seq);
    }
}
