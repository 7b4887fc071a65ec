//! Catalog push: QAD items → Amazon listings ([`ListingDoc`]).
//!
//! * **SKU**: the crosswalk entry whose item is the QAD item (reverse lookup), else the item code.
//! * **Product type**: the item's `attributes.amazon_product_type`, else
//!   [`ListingSettings::product_types`](super::ListingSettings) by QAD item type, else the default
//!   (`PRODUCT`).
//! * **Attributes** (Listings Items API shape, one value per marketplace): `item_name`,
//!   `condition_type`, `externally_assigned_product_identifier` (UPC for 12 digits, EAN for 13,
//!   GTIN for 14) and, for merchant-fulfilled offers with an on-hand snapshot loaded,
//!   `fulfillment_availability` (`DEFAULT` channel, whole units, never below 0). Attributes the
//!   item carries under `attributes.amazon_attributes` (already in Amazon's shape) are merged in
//!   and win.
//! * **Price**: `ListingDoc::price` (decimal with currency). The offer attribute
//!   (`purchasable_offer`) is rendered by the Listings sink from it, so no amount ever passes
//!   through a floating-point JSON number here.
//! * Inactive items map to nothing (delisting is not part of the default push).
//! * The external id is `qad:item:{item}:{marketplaceId}`; one mapper instance pushes to one
//!   marketplace ([`ListingSettings::marketplace_id`](super::ListingSettings)).

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Map, Value, json};

use super::MapContext;
use super::ids;
use super::inventory::stock_place;
use super::settings::Fulfillment;
use crate::error::{Error, Result};
use crate::model::{ErpDocument, ListingDoc, Product, SourceRecord, StockOwner};

fn barcode_type(code: &str) -> Option<&'static str> {
    if !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match code.len() {
        12 => Some("upc"),
        13 => Some("ean"),
        14 => Some("gtin"),
        _ => None,
    }
}

/// Maps a QAD item to a listing for the configured marketplace.
///
/// # Errors
/// [`Error::Data`] when the item has no code or several SKUs map to it;
/// [`Error::Config`] when merchant stock has no site configured.
pub fn map_listing(
    record: &SourceRecord,
    product: &Product,
    ctx: &MapContext,
) -> Result<Vec<ErpDocument>> {
    if !product.active {
        return Ok(Vec::new());
    }
    let key = &record.key;
    let item = product.sku.trim();
    if item.is_empty() {
        return Err(Error::data(
            key,
            "the item has no item code",
            "fix the QAD item source",
        ));
    }
    let settings = &ctx.settings().listing;
    let mp = settings.marketplace_id.as_str();
    let sku = ctx.skus().sku_for_item(key, item)?;
    let product_type = product
        .attributes
        .get("amazon_product_type")
        .and_then(Value::as_str)
        .map(String::from)
        .or_else(|| {
            product
                .product_type
                .as_ref()
                .and_then(|t| settings.product_types.get(t).cloned())
        })
        .unwrap_or_else(|| settings.default_product_type.clone());

    let mut attrs = Map::new();
    if let Some(name) = product.name.as_deref().filter(|n| !n.trim().is_empty()) {
        attrs.insert(
            "item_name".into(),
            json!([{ "value": name, "language_tag": settings.language_tag, "marketplace_id": mp }]),
        );
    }
    attrs.insert(
        "condition_type".into(),
        json!([{ "value": settings.condition, "marketplace_id": mp }]),
    );
    let ids_json: Vec<Value> = product
        .barcodes
        .iter()
        .filter_map(|b| {
            barcode_type(b.trim())
                .map(|t| json!({ "type": t, "value": b.trim(), "marketplace_id": mp }))
        })
        .collect();
    if !ids_json.is_empty() {
        attrs.insert(
            "externally_assigned_product_identifier".into(),
            Value::Array(ids_json),
        );
    }
    let mut quantity = None;
    if settings.fulfillment == Fulfillment::Merchant && !ctx.on_hand().is_empty() {
        let (site, location) = stock_place(ctx, StockOwner::Merchant)?;
        let on_hand = ctx
            .on_hand()
            .get(item, &site, location.as_deref())
            .unwrap_or(Decimal::ZERO);
        let whole = on_hand.floor().max(Decimal::ZERO);
        let units = whole.to_u64().unwrap_or(u64::MAX);
        attrs.insert(
            "fulfillment_availability".into(),
            json!([{ "fulfillment_channel_code": "DEFAULT", "quantity": units, "marketplace_id": mp }]),
        );
        quantity = Some(whole);
    }
    if let Some(Value::Object(extra)) = product.attributes.get("amazon_attributes") {
        for (k, v) in extra {
            attrs.insert(k.clone(), v.clone());
        }
    }
    Ok(vec![ErpDocument::Listing(ListingDoc {
        external_id: ids::listing(item, mp),
        sku,
        marketplace_id: mp.to_string(),
        product_type,
        attributes: Value::Object(attrs),
        price: product.price.clone(),
        quantity,
    })])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn barcode_types_by_length() {
        assert_eq!(barcode_type("012345678905"), Some("upc"));
        assert_eq!(barcode_type("4006381333931"), Some("ean"));
        assert_eq!(barcode_type("00012345678905"), Some("gtin"));
        assert_eq!(barcode_type("12AB"), None);
        assert_eq!(barcode_type("123"), None);
    }
}
