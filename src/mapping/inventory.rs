//! Stock alignment: a channel's stock level (FBA or merchant-fulfilled) compared with the ERP's
//! on-hand at the configured site/location → an inventory adjustment for the **difference only**
//! (none when they agree).
//!
//! The channel quantity follows [`StockBasis`]: `physical` (default) = available + reserved +
//! unfulfillable — every unit the channel holds, which is what an ERP location's on-hand counts
//! (inbound units are not received yet and are excluded); `available` = sellable units only.

use std::fmt;

use rust_decimal::Decimal;

use super::MapContext;
use super::ids;
use super::settings::StockBasis;
use crate::error::{Error, Result};
use crate::model::{
    ErpDocument, InventoryAdjustmentDoc, InventoryLevel, SourceRecord, StockOwner, SystemId,
};

/// The ERP site and location that hold `owner`'s stock.
///
/// # Errors
/// [`Error::Config`] when no site is configured (neither the owner's site nor `default_site`).
pub fn stock_place(ctx: &MapContext, owner: StockOwner) -> Result<(String, Option<String>)> {
    let s = ctx.settings();
    let fba = owner == StockOwner::Fba;
    let site = s.stock_site(fba).map(String::from).ok_or_else(|| {
        Error::config(
            if fba {
                "mapping.inventory.fba_site"
            } else {
                "mapping.inventory.merchant_site"
            },
            "no ERP site for this stock: set it, or `default_site`",
        )
    })?;
    let loc = if fba {
        s.inventory.fba_location.clone()
    } else {
        s.inventory.merchant_location.clone()
    };
    Ok((site, loc))
}

/// The channel quantity compared with on-hand, per the configured [`StockBasis`].
pub fn channel_quantity(level: &InventoryLevel, basis: StockBasis) -> Decimal {
    match basis {
        StockBasis::Physical => level.available + level.reserved + level.unfulfillable,
        StockBasis::Available => level.available,
    }
}

/// Compares a channel level with the ERP level of the same item and returns the adjustment that
/// makes the ERP match the channel, or `None` when they agree.
///
/// `erp` is the ERP on-hand (its `available`) at the site/location [`stock_place`] names.
///
/// # Errors
/// [`Error::Data`] when `channel` is not channel stock or `erp` is not ERP stock, or the SKU
/// does not resolve; [`Error::Config`] when no site is configured.
pub fn align_inventory(
    record: &dyn fmt::Display,
    system: &SystemId,
    channel: &InventoryLevel,
    erp: &InventoryLevel,
    ctx: &MapContext,
) -> Result<Option<InventoryAdjustmentDoc>> {
    if channel.owner == StockOwner::Erp || erp.owner != StockOwner::Erp {
        return Err(Error::data(
            record,
            "stock alignment compares a channel level (FBA or merchant) with an ERP level",
            "pass the channel level first and the ERP on-hand second",
        ));
    }
    let item = ctx.skus().resolve(record, &channel.sku)?;
    adjustment(system, channel, &item, erp.available, ctx)
}

fn adjustment(
    system: &SystemId,
    channel: &InventoryLevel,
    item: &str,
    on_hand: Decimal,
    ctx: &MapContext,
) -> Result<Option<InventoryAdjustmentDoc>> {
    let basis = ctx.settings().inventory.basis;
    let qty = channel_quantity(channel, basis);
    let diff = qty - on_hand;
    if diff.is_zero() {
        return Ok(None);
    }
    let (site, location) = stock_place(ctx, channel.owner)?;
    let owner = match channel.owner {
        StockOwner::Fba => "fba",
        StockOwner::Merchant => "merchant",
        StockOwner::Erp => "erp",
    };
    let detail = match basis {
        StockBasis::Physical => format!(
            "{qty} (available {} + reserved {} + unfulfillable {})",
            channel.available, channel.reserved, channel.unfulfillable
        ),
        StockBasis::Available => format!("{qty} available"),
    };
    Ok(Some(InventoryAdjustmentDoc {
        external_id: ids::inventory(system, owner, &channel.sku, &channel.observed_at),
        part: String::new(),
        item: item.to_string(),
        site,
        location,
        quantity: diff,
        reason: format!(
            "align {} stock of SKU {} observed {}: channel {detail} vs ERP on-hand {on_hand}",
            owner.to_uppercase(),
            channel.sku,
            channel.observed_at.format("%Y-%m-%d %H:%M UTC")
        ),
    }))
}

/// Maps an inventory-level record using the on-hand snapshot of the context
/// ([`MapContextBuilder::on_hand`](super::MapContextBuilder::on_hand)). An item the loaded
/// snapshot does not list has no stock in the ERP (on-hand 0). ERP levels map to nothing.
///
/// # Errors
/// [`Error::Data`] when no snapshot is loaded or the SKU does not resolve.
pub fn map_inventory_level(
    record: &SourceRecord,
    level: &InventoryLevel,
    ctx: &MapContext,
) -> Result<Vec<ErpDocument>> {
    if level.owner == StockOwner::Erp {
        return Ok(Vec::new());
    }
    let key = &record.key;
    if ctx.on_hand().is_empty() {
        return Err(Error::data(
            key,
            "no ERP on-hand snapshot is loaded, so the stock difference is unknown",
            "load QAD on-hand into the MapContext (MapContextBuilder::on_hand) before mapping \
             inventory levels, or call mapping::align_inventory with both levels; then replay",
        ));
    }
    let item = ctx.skus().resolve(key, &level.sku)?;
    let (site, location) = stock_place(ctx, level.owner)?;
    let on_hand = ctx
        .on_hand()
        .get(&item, &site, location.as_deref())
        .unwrap_or(Decimal::ZERO);
    Ok(adjustment(&key.system, level, &item, on_hand, ctx)?
        .map(ErpDocument::InventoryAdjustment)
        .into_iter()
        .collect())
}
