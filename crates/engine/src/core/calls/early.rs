//! Early media: a call's media running before the answer. An outgoing call
//! starts it on a 18x with SDP (the answer to our offer, RFC 3261 §13.2.1)
//! unless the caller refused early media, and the 2xx re-targets it when it
//! brings another SDP. An incoming call starts it when the API sends
//! `183 Session Progress` with our answer; the 2xx repeats that answer.
//! While early media runs, playback, recording and DTMF work as on an
//! answered call.

use super::*;
use crate::model::event::kind;

impl Core {
    /// A 18x of our INVITE carried SDP: remember the answer (a 2xx without
    /// SDP confirms it) and, unless refused, start or re-target early media.
    pub(super) fn on_early_answer(&mut self, id: &str, resp: &Response) {
        let Some(call) = self.calls.get_mut(id) else {
            return;
        };
        let Leg::Outgoing(leg) = &mut call.leg else {
            return;
        };
        if leg.cancel.is_some() || call.state.is_ended() || call.answered_at.is_some() {
            return;
        }
        let negotiated = SessionDescription::parse(&resp.body)
            .map_err(|e| e.to_string())
            .and_then(|a| sdp::accept_answer(&leg.offer, &a).map_err(|e| e.to_string()));
        let neg = match negotiated {
            Ok(neg) => neg,
            Err(e) => {
                tracing::debug!(call = %id, error = %e, "18x SDP not usable; no early media");
                return;
            }
        };
        leg.early_answer = Some(neg.clone());
        if !leg.accept_early || (call.early_media && call.media.negotiated.as_ref() == Some(&neg)) {
            // Refused, or a retransmission / another 18x with the same SDP.
            return;
        }
        call.early_media = true;
        self.set_negotiated(id, neg);
        self.early_media_event(id);
    }

    /// `POST /v1/calls/{id}/progress`: 183 Session Progress with our answer
    /// on an unanswered incoming call, and its media starts.
    pub(crate) fn progress(&mut self, id: &str, now: Instant) -> Result<CallView, EngineError> {
        let call = self
            .calls
            .get(id)
            .ok_or_else(|| self.not_found_or_ended(id))?;
        let leg = match (&call.leg, call.state) {
            (Leg::Incoming(l), CallState::Calling | CallState::Ringing) if !l.answered => l,
            _ => {
                return Err(EngineError::Conflict(format!(
                    "call {id} is not an unanswered incoming call"
                )))
            }
        };
        if leg.our_offer.is_some() || call.media.negotiated.is_none() {
            return Err(EngineError::Conflict(format!(
                "call {id}: the INVITE carried no SDP offer, so there is no answer to send before the 2xx"
            )));
        }
        let first = !call.early_media;
        let (tx, dialog, invite, body) = (
            leg.tx,
            leg.dialog.clone(),
            leg.invite.clone(),
            leg.local_sdp.clone(),
        );
        let Some(d) = self.dialogs.get_mut(&dialog) else {
            return Err(EngineError::Conflict(format!("call {id} has no dialog")));
        };
        let mut progress = d.response(&invite, StatusCode::SESSION_PROGRESS);
        progress.head.content_type = Some("application/sdp".into());
        progress.body = body;
        self.respond(tx, progress, now);
        if first {
            if let Some(call) = self.calls.get_mut(id) {
                call.early_media = true;
            }
            self.push_stream(id);
            self.early_media_event(id);
        }
        self.get_call(id)
    }

    /// `call.early_media` with the stream's address and codec.
    fn early_media_event(&mut self, id: &str) {
        let Some(call) = self.calls.get(id) else {
            return;
        };
        let detail = serde_json::json!({
            "remote_rtp": call.remote_rtp.map(|a| a.to_string()),
            "codec": call.codec,
        });
        tracing::debug!(call = %id, %detail, "early media");
        self.call_detail_event(id, kind::CALL_EARLY_MEDIA, detail);
    }
}
