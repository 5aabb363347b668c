//! API controls on a call: answer, reject, hang up.

use super::*;

impl Core {
    pub(crate) fn answer(&mut self, id: &str, now: Instant) -> Result<CallView, EngineError> {
        let call = self
            .calls
            .get(id)
            .ok_or_else(|| self.not_found_or_ended(id))?;
        match (&call.leg, call.state) {
            (Leg::Incoming(l), CallState::Calling | CallState::Ringing) if !l.answered => {}
            _ => {
                return Err(EngineError::Conflict(format!(
                    "call {id} is not an unanswered incoming call"
                )))
            }
        }
        self.answer_incoming(id, now);
        self.get_call(id)
    }

    pub(crate) fn reject(
        &mut self,
        id: &str,
        code: u16,
        now: Instant,
    ) -> Result<CallView, EngineError> {
        let status =
            StatusCode::new(code).ok_or_else(|| EngineError::InvalidArgument("code".into()))?;
        if !self.calls.contains_key(id) {
            return Err(self.not_found_or_ended(id));
        }
        if !self.reject_incoming(id, status, now) {
            return Err(EngineError::Conflict(format!(
                "call {id} is not an unanswered incoming call"
            )));
        }
        let reason = if code == 486 || code == 600 {
            Reason::Busy
        } else {
            Reason::Denied
        };
        self.end_call(id, reason, Some((code, status.default_reason())), now);
        self.get_call(id)
    }

    pub(crate) fn hangup(&mut self, id: &str, now: Instant) -> Result<CallView, EngineError> {
        let call = self
            .calls
            .get(id)
            .ok_or_else(|| self.not_found_or_ended(id))?;
        match (call.state, &call.leg) {
            (CallState::Terminated, _) => {
                return Err(EngineError::Conflict(format!("call {id} has ended")))
            }
            (CallState::Terminating, _) => {}
            (CallState::Active, _) => self.send_bye(id, Reason::Terminated, now)?,
            (_, Leg::Outgoing(_)) => self.cancel_outgoing(id, Reason::Terminated, now),
            (_, Leg::Incoming(_)) => {
                if self.reject_incoming(id, StatusCode::BUSY_HERE, now) {
                    self.end_call(id, Reason::Terminated, Some((486, "Busy Here")), now);
                }
            }
        }
        self.get_call(id)
    }

    pub(super) fn not_found_or_ended(&self, id: &str) -> EngineError {
        if self.ended.iter().any(|v| v.id == id) {
            EngineError::Conflict(format!("call {id} has ended"))
        } else {
            not_found(id)
        }
    }
}
