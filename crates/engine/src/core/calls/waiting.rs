//! Outgoing calls that wait for their account's registration
//! (`PlaceCall::wait_for_registration_secs`): whether a new call waits, the
//! bounded number of waiting calls per account, sending their INVITEs (oldest
//! first) once the account registers, and the end of a wait that lasted too
//! long (reason `RegistrationTimeout`, nothing sent). A waiting call is an
//! ordinary outgoing call whose INVITE is built but not sent (its leg has no
//! transaction yet); hanging it up ends it without any SIP.

use super::*;
use crate::model::account::RegistrationState;

/// Calls one account may have waiting for its registration at once.
const MAX_WAITING_PER_ACCOUNT: usize = 32;

impl Core {
    /// How long a new call on `account` waits before its INVITE goes out:
    /// `None` (send now) unless the call asked to wait and the account has a
    /// registrar it is not registered with. `Unavailable` when the account's
    /// waiting calls are at their limit.
    pub(super) fn registration_wait(
        &self,
        account: &str,
        secs: Option<u32>,
    ) -> Result<Option<Duration>, EngineError> {
        let Some(secs) = secs else {
            return Ok(None);
        };
        let Some(a) = self.accounts.get(account) else {
            return Ok(None);
        };
        let registered = a
            .registration
            .as_ref()
            .is_some_and(|r| r.view().state == RegistrationState::Registered);
        if a.settings().registrar.is_none() || registered {
            return Ok(None);
        }
        if self.waiting_calls(account).len() >= MAX_WAITING_PER_ACCOUNT {
            return Err(EngineError::Unavailable(format!(
                "account {account} has {MAX_WAITING_PER_ACCOUNT} calls waiting for its registration already"
            )));
        }
        Ok(Some(Duration::from_secs(secs.into())))
    }

    /// The calls of `account` waiting for its registration, oldest first.
    fn waiting_calls(&self, account: &str) -> Vec<String> {
        let mut waiting: Vec<&Call> = self
            .calls
            .values()
            .filter(|c| c.account == account && c.is_waiting())
            .collect();
        waiting.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        waiting.into_iter().map(|c| c.id.clone()).collect()
    }

    /// The account registered (or has no registrar any more): its waiting
    /// calls send their INVITEs, oldest first.
    pub(crate) fn release_waiting_calls(&mut self, account: &str, now: Instant) {
        for id in self.waiting_calls(account) {
            self.send_waiting_invite(&id, now);
        }
    }

    /// Sends a waiting call's INVITE and starts its ring timeout.
    fn send_waiting_invite(&mut self, id: &str, now: Instant) {
        self.clear_timer(&CoreTimer::RegistrationWait(id.to_owned()));
        let Some(call) = self.calls.get_mut(id) else {
            return;
        };
        let Leg::Outgoing(leg) = &mut call.leg else {
            return;
        };
        if leg.tx.is_some() || call.state.is_ended() {
            return;
        }
        match self.tx.send_request(leg.invite.clone(), leg.peer, now) {
            Ok(tx) => {
                leg.tx = Some(tx);
                let ring = leg.ring;
                self.client_tx
                    .insert(tx, ClientPurpose::Invite(id.to_owned()));
                self.set_timer(now + ring, CoreTimer::RingTimeout(id.to_owned()));
                tracing::debug!(call = %id, "registered: the waiting call's INVITE goes out");
                self.save(id);
            }
            Err(e) => {
                tracing::warn!(call = %id, error = %e, "the waiting call's INVITE was not sent");
                self.end_call(id, Reason::Failed, Some((503, "Service Unavailable")), now);
            }
        }
    }

    /// A call waited for its account's registration too long: it ends
    /// without having sent anything.
    pub(crate) fn on_registration_wait_timeout(&mut self, id: &str, now: Instant) {
        if self.calls.get(id).is_some_and(Call::is_waiting) {
            tracing::info!(call = %id, "the account did not register in time; call ended");
            self.end_call(id, Reason::RegistrationTimeout, None, now);
        }
    }
}
