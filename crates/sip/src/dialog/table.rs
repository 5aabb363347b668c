//! The dialogs of a UA, keyed by [`DialogId`], with lookup from incoming messages.

use std::collections::HashMap;

use super::state::{Dialog, DialogId, DialogState};
use super::DialogError;
use crate::message::{Request, Response};

/// Whether an incoming request claims to be inside a dialog (it has a To tag).
/// Such a request whose dialog [`DialogTable::lookup_request`] does not find is
/// answered 481 (RFC 3261 §12.2.2), except ACK, which is dropped.
pub fn is_in_dialog(request: &Request) -> bool {
    request.head.to.tag().is_some()
}

/// Dialogs keyed by id, with a size limit.
///
/// The dialogs that share a Call-ID and local tag (forks of one INVITE) form a
/// dialog set, see [`DialogTable::dialog_set`].
#[derive(Debug)]
pub struct DialogTable {
    dialogs: HashMap<DialogId, Dialog>,
    max: usize,
}

impl DialogTable {
    /// An empty table holding at most `max` dialogs.
    pub fn new(max: usize) -> DialogTable {
        DialogTable {
            dialogs: HashMap::new(),
            max,
        }
    }

    /// Adds a dialog. Fails when the table is full or the id is taken.
    pub fn insert(&mut self, dialog: Dialog) -> Result<&mut Dialog, DialogError> {
        use std::collections::hash_map::Entry;
        let len = self.dialogs.len();
        match self.dialogs.entry(dialog.id().clone()) {
            Entry::Occupied(_) => Err(DialogError::Duplicate),
            Entry::Vacant(_) if len >= self.max => Err(DialogError::TableFull { max: self.max }),
            Entry::Vacant(slot) => Ok(slot.insert(dialog)),
        }
    }

    /// The dialog with this id.
    pub fn get(&self, id: &DialogId) -> Option<&Dialog> {
        self.dialogs.get(id)
    }

    /// The dialog with this id, mutable.
    pub fn get_mut(&mut self, id: &DialogId) -> Option<&mut Dialog> {
        self.dialogs.get_mut(id)
    }

    /// Removes a dialog.
    pub fn remove(&mut self, id: &DialogId) -> Option<Dialog> {
        self.dialogs.remove(id)
    }

    /// The dialog an incoming request belongs to (Call-ID, To tag as local, From tag
    /// as remote). `None` for requests outside dialogs and for unknown dialogs:
    /// check [`is_in_dialog`] to tell them apart (481).
    pub fn lookup_request(&mut self, request: &Request) -> Option<&mut Dialog> {
        let id = DialogId::for_incoming_request(request)?;
        self.dialogs.get_mut(&id)
    }

    /// The dialog a response to our request belongs to (Call-ID, From tag as local,
    /// To tag as remote). `None` when no dialog matches: for a 1xx/2xx to an
    /// INVITE with a new To tag, create one with [`Dialog::from_uac_response`].
    pub fn lookup_response(&mut self, response: &Response) -> Option<&mut Dialog> {
        let id = DialogId::for_response(response)?;
        self.dialogs.get_mut(&id)
    }

    /// The dialogs of one dialog set (the forks of one INVITE).
    pub fn dialog_set<'a>(
        &'a self,
        call_id: &'a str,
        local_tag: &'a str,
    ) -> impl Iterator<Item = &'a Dialog> + 'a {
        self.dialogs
            .values()
            .filter(move |d| d.id().call_id == call_id && d.id().local_tag == local_tag)
    }

    /// Removes the early dialogs of a dialog set, e.g. when the INVITE got a
    /// 3xx–6xx final response (from any branch, RFC 3261 §13.2.2.3) or its
    /// transaction timed out. Returns them.
    pub fn remove_early(&mut self, call_id: &str, local_tag: &str) -> Vec<Dialog> {
        let ids: Vec<DialogId> = self
            .dialog_set(call_id, local_tag)
            .filter(|d| d.state() == DialogState::Early)
            .map(|d| d.id().clone())
            .collect();
        ids.iter()
            .filter_map(|id| self.dialogs.remove(id))
            .collect()
    }

    /// Removes every terminated dialog; returns their ids.
    pub fn remove_terminated(&mut self) -> Vec<DialogId> {
        let ids: Vec<DialogId> = self
            .dialogs
            .values()
            .filter(|d| d.state() == DialogState::Terminated)
            .map(|d| d.id().clone())
            .collect();
        for id in &ids {
            self.dialogs.remove(id);
        }
        ids
    }

    /// Iterates over all dialogs.
    pub fn iter(&self) -> impl Iterator<Item = &Dialog> {
        self.dialogs.values()
    }

    /// Number of dialogs.
    pub fn len(&self) -> usize {
        self.dialogs.len()
    }

    /// No dialogs.
    pub fn is_empty(&self) -> bool {
        self.dialogs.is_empty()
    }
}
