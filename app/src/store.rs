//! Conversations kept in this browser's IndexedDB (this origin only, nothing leaves the device): one
//! record per conversation, `{ id, json }`, the JSON being a [`StoredConversation`]. A small promise
//! wrapper over the callback API; every failure becomes a message, never a panic.

use serde::{Deserialize, Serialize};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::conversation::{Conversation, Exchange};

const DB_NAME: &str = "glassbox";
const DB_VERSION: u32 = 1;
const STORE: &str = "conversations";

/// One kept conversation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StoredConversation {
    /// Creation time in ms since the epoch; unique per conversation on this device.
    pub id: f64,
    /// Last change, ms since the epoch.
    pub updated: f64,
    /// Its messages.
    pub conversation: Conversation,
    /// The tokens of its latest answer, prompt included.
    pub exchange: Exchange,
}

impl StoredConversation {
    /// What the list shows: the first question, cut short.
    pub fn title(&self) -> String {
        let first = self.conversation.messages.first().map(|m| m.content.trim()).unwrap_or_default();
        let title: String = first.chars().take(48).collect();
        if first.chars().count() > 48 {
            format!("{}…", title.trim_end())
        } else {
            title
        }
    }
}

pub(crate) fn err(what: &str, e: JsValue) -> String {
    format!(
        "{what}: {}",
        e.as_string().or_else(|| js_sys::JSON::stringify(&e).ok().map(String::from)).unwrap_or_default()
    )
}

/// Resolves when `request` succeeds (with its result), rejects when it fails.
pub(crate) async fn done(request: &web_sys::IdbRequest) -> Result<JsValue, JsValue> {
    let promise = js_sys::Promise::new(&mut |resolve, reject| {
        let ok_request = request.clone();
        let on_success = Closure::once_into_js(move |_: web_sys::Event| {
            let _ = resolve.call1(&JsValue::NULL, &ok_request.result().unwrap_or(JsValue::UNDEFINED));
        });
        let failed_request = request.clone();
        let on_error = Closure::once_into_js(move |_: web_sys::Event| {
            let error = failed_request.error().ok().flatten().map(JsValue::from).unwrap_or(JsValue::NULL);
            let _ = reject.call1(&JsValue::NULL, &error);
        });
        request.set_onsuccess(Some(on_success.unchecked_ref()));
        request.set_onerror(Some(on_error.unchecked_ref()));
    });
    JsFuture::from(promise).await
}

/// Opens (creating on first use) the database.
pub async fn open() -> Result<web_sys::IdbDatabase, String> {
    open_database(DB_NAME, DB_VERSION, STORE, Some("id")).await.map_err(|e| format!("opening the conversations: {e}"))
}

/// Opens (creating on first use) the database `name` with one object store `store` (keyed by the
/// records' `key_path`, or by explicit keys without one).
pub(crate) async fn open_database(
    name: &str,
    version: u32,
    store: &'static str,
    key_path: Option<&'static str>,
) -> Result<web_sys::IdbDatabase, String> {
    let factory =
        web_sys::window().and_then(|w| w.indexed_db().ok().flatten()).ok_or("this browser keeps no IndexedDB here")?;
    let request = factory.open_with_u32(name, version).map_err(|e| err("opening", e))?;
    let on_upgrade = Closure::once_into_js(move |event: web_sys::Event| {
        let db = event
            .target()
            .and_then(|t| t.dyn_into::<web_sys::IdbOpenDbRequest>().ok())
            .and_then(|r| r.result().ok())
            .and_then(|r| r.dyn_into::<web_sys::IdbDatabase>().ok());
        if let Some(db) = db {
            if !db.object_store_names().contains(store) {
                let params = web_sys::IdbObjectStoreParameters::new();
                if let Some(path) = key_path {
                    params.set_key_path(&JsValue::from_str(path));
                }
                let _ = db.create_object_store_with_optional_parameters(store, &params);
            }
        }
    });
    request.set_onupgradeneeded(Some(on_upgrade.unchecked_ref()));
    let db = done(&request).await.map_err(|e| err("opening", e))?;
    db.dyn_into().map_err(|_| "not a database".to_owned())
}

fn store(db: &web_sys::IdbDatabase, mode: web_sys::IdbTransactionMode) -> Result<web_sys::IdbObjectStore, String> {
    db.transaction_with_str_and_mode(STORE, mode)
        .and_then(|t| t.object_store(STORE))
        .map_err(|e| err("reaching the conversations", e))
}

/// Saves (or replaces) a conversation.
pub async fn put(db: &web_sys::IdbDatabase, record: &StoredConversation) -> Result<(), String> {
    let json = serde_json::to_string(record).map_err(|e| e.to_string())?;
    let value = js_sys::Object::new();
    js_sys::Reflect::set(&value, &"id".into(), &JsValue::from_f64(record.id)).map_err(|e| err("saving", e))?;
    js_sys::Reflect::set(&value, &"json".into(), &JsValue::from_str(&json)).map_err(|e| err("saving", e))?;
    let request = store(db, web_sys::IdbTransactionMode::Readwrite)?.put(&value).map_err(|e| err("saving", e))?;
    done(&request).await.map(|_| ()).map_err(|e| err("saving the conversation", e))
}

/// Every kept conversation, most recently changed first (unreadable records are skipped).
pub async fn all(db: &web_sys::IdbDatabase) -> Result<Vec<StoredConversation>, String> {
    let request = store(db, web_sys::IdbTransactionMode::Readonly)?.get_all().map_err(|e| err("reading", e))?;
    let values: js_sys::Array = done(&request).await.map_err(|e| err("reading the conversations", e))?.into();
    let mut records: Vec<StoredConversation> = values
        .iter()
        .filter_map(|v| js_sys::Reflect::get(&v, &"json".into()).ok()?.as_string())
        .filter_map(|json| serde_json::from_str(&json).ok())
        .collect();
    records.sort_by(|a, b| b.updated.total_cmp(&a.updated));
    Ok(records)
}

/// Forgets a conversation.
pub async fn delete(db: &web_sys::IdbDatabase, id: f64) -> Result<(), String> {
    let request = store(db, web_sys::IdbTransactionMode::Readwrite)?
        .delete(&JsValue::from_f64(id))
        .map_err(|e| err("deleting", e))?;
    done(&request).await.map(|_| ()).map_err(|e| err("deleting the conversation", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_conversation_is_titled_by_its_first_question_cut_short() {
        let mut c = Conversation::default();
        c.ask("Why is the sky blue when the sun is yellow, and why are sunsets red instead?".into());
        let record = StoredConversation { conversation: c, ..Default::default() };
        assert_eq!(record.title(), "Why is the sky blue when the sun is yellow, and…");
        assert_eq!(StoredConversation::default().title(), "");
    }
}
