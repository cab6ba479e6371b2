//! The trained autoencoder kept in this browser (IndexedDB, a database of its own: one record, its file's
//! bytes and when it was kept), so a teacher can prepare one before class and find it again offline.

use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::store::{done, err};

const DB_NAME: &str = "glassbox-thoughts";
const STORE: &str = "autoencoders";
const KEY: &str = "kept";

async fn open() -> Result<web_sys::IdbDatabase, String> {
    crate::store::open_database(DB_NAME, 1, STORE, None).await
}

fn store(db: &web_sys::IdbDatabase, mode: web_sys::IdbTransactionMode) -> Result<web_sys::IdbObjectStore, String> {
    db.transaction_with_str_and_mode(STORE, mode).and_then(|t| t.object_store(STORE)).map_err(|e| err("reaching", e))
}

/// Keeps `bytes` (replacing the autoencoder kept before).
pub async fn keep(bytes: &[u8]) -> Result<(), String> {
    let db = open().await?;
    let value = js_sys::Object::new();
    Reflect::set(&value, &"bytes".into(), &Uint8Array::from(bytes)).map_err(|e| err("keeping", e))?;
    Reflect::set(&value, &"kept".into(), &JsValue::from_f64(js_sys::Date::now())).map_err(|e| err("keeping", e))?;
    let request = store(&db, web_sys::IdbTransactionMode::Readwrite)?
        .put_with_key(&value, &JsValue::from_str(KEY))
        .map_err(|e| err("keeping", e))?;
    done(&request).await.map(|_| ()).map_err(|e| err("keeping the autoencoder", e))
}

/// The kept autoencoder's bytes and when it was kept (ms since the epoch), if any.
pub async fn kept() -> Result<Option<(Vec<u8>, f64)>, String> {
    let db = open().await?;
    let request = store(&db, web_sys::IdbTransactionMode::Readonly)?
        .get(&JsValue::from_str(KEY))
        .map_err(|e| err("reading", e))?;
    let value = done(&request).await.map_err(|e| err("reading the kept autoencoder", e))?;
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    let bytes = Reflect::get(&value, &"bytes".into()).ok().and_then(|b| b.dyn_into::<Uint8Array>().ok());
    let when = Reflect::get(&value, &"kept".into()).ok().and_then(|w| w.as_f64()).unwrap_or(0.0);
    Ok(bytes.map(|b| (b.to_vec(), when)))
}
