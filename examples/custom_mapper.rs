//! Two ways to change what lands in QAD (docs/mapping.md §2–§3):
//!
//! 1. **Wrap the default mapper and change one field**: every rule and guard of `DefaultMapper`
//!    stays; orders of the French store view ship from site `10-200`.
//! 2. **Write a mapper from scratch**: `MarketplaceOrders` builds Amazon sales orders itself —
//!    its own due date (order date + 2 days), lines through the SKU crosswalk, the line guard of
//!    the default mappers, and the same deterministic external id (the ERP-side idempotency
//!    key, which the QAD sink writes into the order's remarks).
//!
//! ```sh
//! cargo run --example custom_mapper                        # the built-in simulators
//! cargo run --example custom_mapper -- --config my.toml    # your systems
//! ```

mod common;

use std::sync::Arc;

use ml_connector::adobe::AdobeSource;
use ml_connector::amazon::AmazonSource;
use ml_connector::config::Channel;
use ml_connector::mapping::{DefaultMapper, MapContext, MapperExt, PartyKind, check_lines, ids};
use ml_connector::model::{
    DocumentKind, ErpDocument, OrderStatus, RecordBody, SalesOrderDoc, SalesOrderLine, SourceRecord,
};
use ml_connector::pipeline::Pipeline;
use ml_connector::sandbox::demo;
use ml_connector::{Error, Mapper, Result};

const USAGE: &str = "\
custom_mapper — a wrapped default mapper and a mapper written from scratch

USAGE: cargo run --example custom_mapper [-- --config PATH]";

/// From scratch: Amazon orders → sales orders to the marketplace customer of `customers.toml`.
struct MarketplaceOrders;

impl Mapper for MarketplaceOrders {
    fn map(&self, record: &SourceRecord, ctx: &MapContext) -> Result<Vec<ErpDocument>> {
        let RecordBody::Order(order) = &record.body else {
            return Ok(Vec::new()); // this mapper only handles orders
        };
        if matches!(order.status, OrderStatus::Pending | OrderStatus::Cancelled) {
            return Ok(Vec::new()); // no prices yet / nothing to post
        }
        // The line guard of the default mappers: Σ rows = subtotal, no unit counted twice.
        check_lines(&record.key, "order", &order.lines, &order.totals)?;
        let marketplace = order.channel.as_deref().unwrap_or_default();
        let customer = ctx
            .customers()
            .explicit(PartyKind::Marketplace, marketplace)
            .ok_or_else(|| {
                Error::data(
                    &record.key,
                    format!("no customer for marketplace {marketplace}"),
                    format!(
                        "add `{marketplace} = \"<code>\"` under [marketplaces] in customers.toml"
                    ),
                )
            })?;
        let lines = order
            .lines
            .iter()
            .enumerate()
            .map(|(n, l)| {
                Ok(SalesOrderLine {
                    line: u32::try_from(n + 1).unwrap_or(u32::MAX),
                    item: ctx.skus().resolve(&record.key, &l.sku)?,
                    source_sku: l.sku.clone(),
                    description: l.name.clone(),
                    quantity: l.quantity,
                    uom: None,
                    list_price: l.unit_price,
                    net_price: l.unit_price,
                    taxable: true,
                    site: None,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let date = order.placed_at.date_naive();
        Ok(vec![ErpDocument::SalesOrder(SalesOrderDoc {
            // Keep the default scheme: QAD finds the order again by it before any re-post.
            external_id: ids::order(&record.key.system, marketplace, &order.number),
            customer: customer.to_string(),
            bill_to: None,
            ship_to: None,
            ship_to_address: None,
            order_date: date,
            due_date: date + chrono::Days::new(2),
            site: ctx.settings().default_site.clone(),
            currency: order.totals.currency.clone(),
            customer_po: order.number.clone(),
            lines,
            freight: order.totals.shipping,
            tax: order.totals.tax,
            remarks: None,
        })])
    }
}

#[tokio::main]
async fn main() {
    let args = common::Args::parse(USAGE, &[], &[]);
    common::init_tracing("warn");
    let target = common::exit_on_error(common::Target::open(&args, "custom_mapper").await);
    common::exit_on_error(run(&target).await);
}

async fn run(target: &common::Target) -> Result<()> {
    let systems = &target.systems;
    let stores = systems.stores().await?;
    let qad = common::qad_sink(systems).await?;
    let items = demo::item_master(&qad).await?;

    // 1. The default mapper with one field changed.
    let french_from_200 = DefaultMapper.customize().sales_order(|so, record, _ctx| {
        if let RecordBody::Order(o) = &record.body
            && o.channel.as_deref() == Some("fr")
        {
            so.site = Some("10-200".into());
        }
        Ok(())
    });
    let adobe = Pipeline::builder()
        .source(Arc::new(AdobeSource::new(
            systems.require_adobe()?.clone(),
        )?))
        .mapper(Arc::new(french_from_200))
        .sink(qad.clone())
        .stores(&stores)?
        .context(demo::validated(
            &systems.reference.context(Channel::Adobe)?,
            &items,
        )?)
        .build()?;
    for stream in ["customers", "companies", "orders"] {
        println!("{}", adobe.run(stream).await?);
    }

    // 2. A mapper from scratch.
    let amazon = Pipeline::builder()
        .source(Arc::new(AmazonSource::new(
            systems.require_amazon()?.clone(),
        )?))
        .mapper(Arc::new(MarketplaceOrders))
        .sink(qad)
        .stores(&stores)?
        .context(demo::validated(
            &systems.reference.context(Channel::Amazon)?,
            &items,
        )?)
        .build()?;
    println!("{}", amazon.run("orders").await?);

    if let Some(sandbox) = &target.sandbox {
        let orders = sandbox.qad().documents(DocumentKind::SalesOrder);
        let site_of = |o: &serde_json::Value| o["siteCode"].as_str().unwrap_or("").to_string();
        let fr = orders
            .iter()
            .filter(|o| o["remarks"].as_str().is_some_and(|r| r.contains(":fr:")))
            .collect::<Vec<_>>();
        println!(
            "\nFrench store orders in QAD: {}, all from site 10-200: {}",
            fr.len(),
            fr.iter().all(|o| site_of(o) == "10-200")
        );
        if let Some(a) = orders.iter().find(|o| {
            o["remarks"]
                .as_str()
                .is_some_and(|r| r.starts_with("amazon:order:"))
        }) {
            println!(
                "An Amazon order in QAD: PO {}, customer {}, ordered {}, due {} (+2 days)",
                a["customerPO"].as_str().unwrap_or(""),
                a["soldToCustomerCode"].as_str().unwrap_or(""),
                a["orderDate"].as_str().unwrap_or(""),
                a["dueDate"].as_str().unwrap_or("")
            );
        }
    }
    Ok(())
}
