//! The simulated store's data set: generated from a seed, shaped like real Adobe Commerce
//! payloads (reference §5; the order sample's layout), and mutated while clients read it.

use std::collections::HashMap;

use chrono::{DateTime, Duration as ChronoDuration, NaiveDateTime, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Value, json};

/// Amounts of one counted row: (row, base_row, discount, base_discount, tax, base_tax).
type Amounts = (Decimal, Decimal, Decimal, Decimal, Decimal, Decimal);

const TS: &str = "%Y-%m-%d %H:%M:%S";

pub(crate) fn ts(t: &NaiveDateTime) -> String {
    t.format(TS).to_string()
}

/// A JSON number as PHP's `json_encode` writes it: integral amounts as integers.
pub(crate) fn num(d: Decimal) -> Value {
    let d = d.normalize();
    if d.fract().is_zero()
        && let Some(i) = d.to_i64()
    {
        return json!(i);
    }
    json!(d.to_f64().unwrap_or_default())
}

fn money(cents: i64) -> Decimal {
    Decimal::new(cents, 2)
}

fn round2(d: Decimal) -> Decimal {
    d.round_dp(2)
}

/// One store view.
#[derive(Debug, Clone)]
pub(crate) struct StoreView {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub order_currency: String,
    /// Base (USD) → order currency.
    pub rate: Decimal,
    /// Increment id prefix digit.
    pub prefix: i64,
    pub tax_rate: Decimal,
}

#[derive(Debug, Clone)]
enum CatalogEntry {
    Simple {
        id: i64,
        sku: String,
        name: String,
        price: i64,
    },
    Configurable {
        parent_id: i64,
        child_id: i64,
        sku: String,
        name: String,
        price: i64,
    },
    Bundle {
        id: i64,
        sku: String,
        name: String,
        fixed_price: Option<i64>,
        children: Vec<(i64, String, String, i64)>,
    },
}

/// A searchable collection of JSON objects keyed by id.
#[derive(Debug, Default, Clone)]
pub(crate) struct Table {
    pub rows: Vec<Value>,
    pub index: HashMap<i64, usize>,
}

impl Table {
    pub fn push(&mut self, id: i64, v: Value) {
        self.index.insert(id, self.rows.len());
        self.rows.push(v);
    }
    pub fn get(&self, id: i64) -> Option<&Value> {
        self.index.get(&id).map(|i| &self.rows[*i])
    }
    pub fn get_mut(&mut self, id: i64) -> Option<&mut Value> {
        self.index.get(&id).map(|i| &mut self.rows[*i])
    }
}

/// Sizes of the generated data set.
#[derive(Debug, Clone)]
pub(crate) struct Sizes {
    pub orders: usize,
    pub customers: usize,
    pub companies: usize,
    pub history_days: i64,
}

/// The store's data.
#[derive(Debug)]
pub(crate) struct Db {
    pub stores: Vec<StoreView>,
    pub orders: Table,
    pub invoices: Table,
    pub creditmemos: Table,
    pub customers: Table,
    pub companies: Table,
    pub products: Table,
    /// (sku, store code) → store-view product name.
    pub product_names: HashMap<(String, String), String>,
    catalog: Vec<CatalogEntry>,
    rng: fastrand::Rng,
    next_item_id: i64,
    next_doc_item_id: i64,
    increment: HashMap<(i64, &'static str), i64>,
}

const FIRST: [&str; 12] = [
    "Jane", "John", "Zoë", "Łukasz", "Amélie", "Søren", "Veronica", "Hiro", "Ana", "Omar", "Björk",
    "Chen",
];
const LAST: [&str; 10] = [
    "Doe", "Müller", "Costello", "O'Brien", "García", "Nowak", "Tanaka", "Smith", "Dupont", "Li",
];
const CITIES: [(&str, &str, &str, &str); 4] = [
    ("Purchase", "New York", "NY", "US"),
    ("Calder", "Michigan", "MI", "US"),
    ("Austin", "Texas", "TX", "US"),
    ("Paris", "Île-de-France", "IDF", "FR"),
];

impl Db {
    /// Generates a data set.
    pub fn generate(seed: u64, sizes: &Sizes, now: DateTime<Utc>) -> Self {
        let stores = vec![
            StoreView {
                id: 1,
                code: "default".into(),
                name: "Main Website\nMain Website Store\nDefault Store View".into(),
                order_currency: "USD".into(),
                rate: Decimal::ONE,
                prefix: 1,
                tax_rate: Decimal::new(825, 4),
            },
            StoreView {
                id: 2,
                code: "fr".into(),
                name: "Main Website\nMain Website Store\nFrench".into(),
                order_currency: "EUR".into(),
                rate: Decimal::new(92, 2),
                prefix: 2,
                tax_rate: Decimal::new(20, 2),
            },
        ];
        let mut db = Db {
            stores,
            orders: Table::default(),
            invoices: Table::default(),
            creditmemos: Table::default(),
            customers: Table::default(),
            companies: Table::default(),
            products: Table::default(),
            product_names: HashMap::new(),
            catalog: Vec::new(),
            rng: fastrand::Rng::with_seed(seed),
            next_item_id: 1,
            next_doc_item_id: 1,
            increment: HashMap::new(),
        };
        let start = (now - ChronoDuration::days(sizes.history_days.max(1))).naive_utc();
        db.gen_catalog(start);
        db.gen_companies_and_customers(sizes, start);
        db.gen_orders(sizes, start, now.naive_utc() - ChronoDuration::minutes(10));
        db
    }

    fn next_increment(&mut self, store: i64, kind: &'static str) -> i64 {
        let c = self.increment.entry((store, kind)).or_insert(0);
        *c += 1;
        *c
    }

    fn increment_id(&mut self, store: &StoreView, kind: &'static str) -> String {
        let n = self.next_increment(store.id, kind);
        format!("{}{:08}", store.prefix, n)
    }

    fn gen_catalog(&mut self, start: NaiveDateTime) {
        let mut id = 0i64;
        let mut product = |db: &mut Db, sku: &str, name: &str, ty: &str, price: i64, ext: Value| {
            id += 1;
            let created = start + ChronoDuration::seconds(id * 37);
            let v = json!({
                "id": id, "sku": sku, "name": name, "attribute_set_id": 4,
                "price": num(money(price)), "status": if id % 17 == 0 { 2 } else { 1 },
                "visibility": if ty == "simple" && sku.contains("-V") { 1 } else { 4 },
                "type_id": ty, "created_at": ts(&created), "updated_at": ts(&created),
                "weight": 1, "extension_attributes": ext,
                "custom_attributes": [
                    {"attribute_code": "ean", "value": format!("40063813{:05}", id)},
                    {"attribute_code": "description", "value": format!("<p>{name}</p>")}
                ]
            });
            db.product_names
                .insert((sku.to_string(), "fr".into()), format!("{name} (FR)"));
            db.products.push(id, v);
            id
        };
        let mut simples = Vec::new();
        for i in 1..=40 {
            let sku = format!("SIM-S{i:03}");
            let price = 500 + (self.rng.i64(0..120)) * 50;
            let name = format!("Simple product {i}");
            let pid = product(
                self,
                &sku,
                &name,
                "simple",
                price,
                json!({"website_ids": [1]}),
            );
            simples.push((pid, sku.clone(), name.clone(), price));
            self.catalog.push(CatalogEntry::Simple {
                id: pid,
                sku,
                name,
                price,
            });
        }
        // A SKU with a space, `+`, `~` and a non-ASCII letter (signing and search must cope).
        product(
            self,
            "SIM-SPECIAL A+B~Ü",
            "Spécial ~ plus+",
            "simple",
            999,
            json!({"website_ids": [1]}),
        );
        for c in 1..=8 {
            let name = format!("Configurable hoodie {c}");
            let price = 3000 + self.rng.i64(0..40) * 100;
            let mut links = Vec::new();
            let mut variants = Vec::new();
            for size in ["S", "M", "L"] {
                let sku = format!("SIM-C{c:02}-V{size}");
                let vid = product(
                    self,
                    &sku,
                    &format!("{name}-{size}"),
                    "simple",
                    price,
                    json!({"website_ids": [1]}),
                );
                links.push(vid);
                variants.push((vid, sku));
            }
            let pid = product(
                self,
                &format!("SIM-C{c:02}"),
                &name,
                "configurable",
                price,
                json!({"website_ids": [1], "configurable_product_links": links}),
            );
            for (vid, sku) in variants {
                self.catalog.push(CatalogEntry::Configurable {
                    parent_id: pid,
                    child_id: vid,
                    sku,
                    name: name.clone(),
                    price,
                });
            }
        }
        for b in 1..=6 {
            let picks: Vec<(i64, String, String, i64)> = (0..3)
                .map(|_| simples[self.rng.usize(0..simples.len())].clone())
                .collect();
            let fixed = (b % 3 == 0).then(|| 4000 + b * 100);
            let sku = format!(
                "SIM-B{b:02}-{}",
                picks
                    .iter()
                    .map(|p| p.1.as_str())
                    .collect::<Vec<_>>()
                    .join("-")
            );
            let name = format!("Bundle kit {b}");
            let id = product(
                self,
                &format!("SIM-B{b:02}"),
                &name,
                "bundle",
                fixed.unwrap_or(0),
                json!({"website_ids": [1], "bundle_product_options": [{"option_id": b, "title": "Kit", "type": "select", "product_links": picks.iter().map(|p| json!({"sku": p.1, "qty": 1})).collect::<Vec<_>>()}]}),
            );
            self.catalog.push(CatalogEntry::Bundle {
                id,
                sku,
                name,
                fixed_price: fixed,
                children: picks,
            });
        }
    }

    fn gen_companies_and_customers(&mut self, sizes: &Sizes, start: NaiveDateTime) {
        let n_companies = sizes.companies;
        for c in 1..=n_companies as i64 {
            let (city, region, _code, country) = CITIES[(c as usize) % CITIES.len()];
            let v = json!({
                "id": c, "status": if c % 7 == 0 { 0 } else { 1 },
                "company_name": format!("Company {c} {}", if c % 2 == 0 { "GmbH" } else { "Inc." }),
                "legal_name": format!("Company {c} Legal"),
                "company_email": format!("ap{c}@company{c}.example"),
                "vat_tax_id": format!("VAT{c:06}"),
                "street": [format!("{c} Big Tree Avenue")], "city": city, "country_id": country,
                "region": region, "region_id": format!("{}", 10 + c % 40), "postcode": format!("{:05}", 10000 + c),
                "telephone": format!("415555{:04}", c), "customer_group_id": 1,
                "sales_representative_id": 1, "super_user_id": 0,
                "reject_reason": null, "rejected_at": null,
                "extension_attributes": {"applicable_payment_method": 0,
                    "available_payment_methods": "checkmo,purchaseorder,companycredit",
                    "use_config_settings": 1, "is_purchase_order_enabled": true}
            });
            self.companies.push(c, v);
        }
        let n = sizes.customers.max(1) as i64;
        for id in 1..=n {
            let first = FIRST[self.rng.usize(0..FIRST.len())];
            let last = LAST[self.rng.usize(0..LAST.len())];
            let (city, region, code, country) = CITIES[self.rng.usize(0..CITIES.len())];
            let created = start + ChronoDuration::seconds(id * 53);
            let updated = created + ChronoDuration::seconds(self.rng.i64(0..86_400));
            let addr_id = id * 2 - 1;
            let company =
                (n_companies > 0 && id % 5 == 0).then(|| 1 + (id / 5 - 1) % n_companies as i64);
            let mut ext = json!({"is_subscribed": false});
            if let Some(cid) = company {
                ext["company_attributes"] = json!({"customer_id": id, "company_id": cid,
                    "status": 1, "job_title": "Buyer", "telephone": "5125551111"});
                if let Some(co) = self.companies.get_mut(cid)
                    && co["super_user_id"] == json!(0)
                {
                    co["super_user_id"] = json!(id);
                }
            }
            let v = json!({
                "id": id, "group_id": if company.is_some() { 2 } else { 1 },
                "default_billing": addr_id.to_string(), "default_shipping": addr_id.to_string(),
                "created_at": ts(&created), "updated_at": ts(&updated),
                "created_in": "Default Store View",
                "email": format!("customer{id}@example.com"), "firstname": first, "lastname": last,
                "store_id": 1, "website_id": 1, "taxvat": if company.is_some() { json!(format!("TAX{id}")) } else { Value::Null },
                "disable_auto_group_change": 0,
                "addresses": [{
                    "id": addr_id, "customer_id": id,
                    "region": {"region_code": code, "region": region, "region_id": 43},
                    "region_id": 43, "country_id": country,
                    "street": [format!("{} Honey Bluff Parkway", 100 + id)],
                    "telephone": "(555) 229-3326", "postcode": format!("{:05}", 20000 + id),
                    "city": city, "firstname": first, "lastname": last,
                    "default_shipping": true, "default_billing": true
                }],
                "extension_attributes": ext
            });
            self.customers.push(id, v);
        }
    }

    fn address(
        &mut self,
        kind: &str,
        order_id: i64,
        first: &str,
        last: &str,
        email: &str,
    ) -> Value {
        let (city, region, code, country) = CITIES[self.rng.usize(0..CITIES.len())];
        json!({"address_type": kind, "city": city, "country_id": country, "email": email,
               "entity_id": order_id * 2 + i64::from(kind == "billing"), "firstname": first,
               "lastname": last, "parent_id": order_id,
               "postcode": format!("{:05}", 10000 + order_id % 89999), "region": region,
               "region_code": code, "street": [format!("{} Oak Ave", 1 + order_id % 999)],
               "telephone": "512-555-1111"})
    }

    fn gen_orders(&mut self, sizes: &Sizes, start: NaiveDateTime, latest: NaiveDateTime) {
        let span = (latest - start).num_seconds().max(1);
        let n = sizes.orders as i64;
        let mut entity = 0i64;
        let mut prev_updated: Option<NaiveDateTime> = None;
        while entity < n {
            entity += 1;
            let created = start + ChronoDuration::seconds(span * (entity - 1) / n.max(1));
            let mut updated = created + ChronoDuration::seconds(self.rng.i64(0..1800));
            // Bursts: one in eight orders shares its `updated_at` second with the previous one.
            if let Some(p) = prev_updated
                && self.rng.u8(0..8) == 0
            {
                updated = p;
            }
            if updated > latest {
                updated = latest;
            }
            let store = self.stores[usize::from(self.rng.u8(0..4) == 0)].clone();
            let edits = if entity + 2 <= n && self.rng.u8(0..50) == 0 {
                1 + usize::from(self.rng.bool())
            } else {
                0
            };
            let base_inc = self.increment_id(&store, "order");
            let profile = self.order_profile(&store);
            for e in 0..=edits {
                if e > 0 {
                    entity += 1;
                }
                let inc = if e == 0 {
                    base_inc.clone()
                } else {
                    format!("{base_inc}-{e}")
                };
                let mut o = self.build_order(entity, &inc, &store, &profile, created, updated);
                if e > 0 {
                    o["edit_increment"] = json!(e);
                    o["original_increment_id"] = json!(base_inc);
                    o["relation_parent_id"] = json!((entity - 1).to_string());
                    o["relation_parent_real_id"] = json!(if e == 1 {
                        base_inc.clone()
                    } else {
                        format!("{base_inc}-{}", e - 1)
                    });
                }
                if e < edits {
                    o["state"] = json!("canceled");
                    o["status"] = json!("canceled");
                    o["relation_child_id"] = json!((entity + 1).to_string());
                    o["relation_child_real_id"] = json!(format!("{base_inc}-{}", e + 1));
                    o["total_canceled"] = o["grand_total"].clone();
                }
                self.add_documents(&mut o, &store, latest);
                self.orders.push(entity, o);
            }
            prev_updated = Some(updated);
        }
    }

    fn order_profile(&mut self, store: &StoreView) -> OrderProfile {
        let guest = self.rng.u8(0..5) == 0;
        let customer = if guest || self.customers.rows.is_empty() {
            None
        } else {
            let c = &self.customers.rows[self.rng.usize(0..self.customers.rows.len())];
            Some(c.clone())
        };
        let n_lines = 1 + self.rng.usize(0..3);
        let entries: Vec<CatalogEntry> = (0..n_lines)
            .map(|_| self.catalog[self.rng.usize(0..self.catalog.len())].clone())
            .collect();
        let qtys = (0..n_lines).map(|_| 1 + self.rng.i64(0..3)).collect();
        let state = match self.rng.u8(0..20) {
            0..=3 => "new",
            4..=9 => "processing",
            10..=15 => "complete",
            16 => "holded",
            17 => "canceled",
            _ => "closed",
        };
        let method = match (
            customer
                .as_ref()
                .and_then(|c| c["extension_attributes"].get("company_attributes")),
            self.rng.u8(0..3),
        ) {
            (Some(_), _) => "purchaseorder",
            (None, 0) => "braintree",
            (None, 1) => "checkmo",
            _ => "banktransfer",
        };
        OrderProfile {
            customer,
            entries,
            qtys,
            discount: self.rng.u8(0..5) == 0,
            taxed: store.id == 2 || self.rng.bool(),
            shipping: if self.rng.bool() { 500 } else { 1000 },
            state,
            method,
        }
    }

    #[allow(clippy::too_many_lines)]
    fn build_order(
        &mut self,
        entity: i64,
        increment: &str,
        store: &StoreView,
        p: &OrderProfile,
        created: NaiveDateTime,
        updated: NaiveDateTime,
    ) -> Value {
        let conv = |base: Decimal| round2(base * store.rate);
        let mut items = Vec::new();
        let mut counted: Vec<Amounts> = Vec::new();
        let mut qty_total = Decimal::ZERO;
        let discount_rate = if p.discount {
            Decimal::new(10, 2)
        } else {
            Decimal::ZERO
        };
        let tax_rate = if p.taxed {
            store.tax_rate
        } else {
            Decimal::ZERO
        };
        // Amounts of one counted row: (row, base_row, discount, base_discount, tax, base_tax).
        // As Magento: the unit price is converted, then multiplied (row = price × qty).
        let amounts = |base_price: Decimal, q: Decimal| {
            let base_row = base_price * q;
            let row = conv(base_price) * q;
            let d = round2(row * discount_rate);
            let bd = round2(base_row * discount_rate);
            let t = round2((row - d) * tax_rate);
            let bt = round2((base_row - bd) * tax_rate);
            (row, base_row, d, bd, t, bt)
        };
        let stamp = ts(&created);
        let item = |db: &mut Db,
                    parent: Option<&Value>,
                    product_id: i64,
                    ty: &str,
                    sku: &str,
                    name: &str,
                    qty: i64,
                    base_price: Decimal,
                    a: Option<Amounts>|
         -> Value {
            let id = db.next_item_id;
            db.next_item_id += 1;
            let (row, base_row, d, bd, t, bt) = a.unwrap_or_default();
            let mut v = json!({
                "item_id": id, "order_id": entity, "product_id": product_id, "product_type": ty,
                "sku": sku, "name": name, "qty_ordered": qty, "qty_invoiced": 0, "qty_refunded": 0,
                "qty_shipped": 0, "qty_canceled": 0, "is_qty_decimal": 0, "is_virtual": 0,
                "price": num(conv(base_price)), "base_price": num(base_price),
                "original_price": num(conv(base_price)), "base_original_price": num(base_price),
                "row_total": num(row), "base_row_total": num(base_row),
                "discount_amount": num(d), "base_discount_amount": num(bd),
                "discount_percent": num(discount_rate * Decimal::from(100)),
                "tax_amount": num(t), "base_tax_amount": num(bt),
                "tax_percent": num(tax_rate * Decimal::from(100)),
                "row_total_incl_tax": num(row + t), "base_row_total_incl_tax": num(base_row + bt),
                "store_id": store.id, "created_at": stamp, "updated_at": stamp, "weight": 1,
                "quote_item_id": id + 1000
            });
            if let Some(par) = parent {
                v["parent_item_id"] = par["item_id"].clone();
                v["parent_item"] = par.clone();
            }
            v
        };
        for (entry, &qty) in p.entries.iter().zip(&p.qtys) {
            let q = Decimal::from(qty);
            qty_total += q;
            match entry {
                CatalogEntry::Simple {
                    id,
                    sku,
                    name,
                    price,
                } => {
                    let base = money(*price);
                    let a = amounts(base, q);
                    counted.push(a);
                    items.push(item(
                        self,
                        None,
                        *id,
                        "simple",
                        sku,
                        name,
                        qty,
                        base,
                        Some(a),
                    ));
                }
                CatalogEntry::Configurable {
                    parent_id,
                    child_id,
                    sku,
                    name,
                    price,
                } => {
                    let base = money(*price);
                    let a = amounts(base, q);
                    counted.push(a);
                    let parent = item(
                        self,
                        None,
                        *parent_id,
                        "configurable",
                        sku,
                        name,
                        qty,
                        base,
                        Some(a),
                    );
                    let child = item(
                        self,
                        Some(&parent),
                        *child_id,
                        "simple",
                        sku,
                        &format!("{name}-{}", sku.rsplit('-').next().unwrap_or("")),
                        qty,
                        Decimal::ZERO,
                        None,
                    );
                    items.push(parent);
                    items.push(child);
                }
                CatalogEntry::Bundle {
                    id,
                    sku,
                    name,
                    fixed_price,
                    children,
                } => match fixed_price {
                    Some(fp) => {
                        let base = money(*fp);
                        let a = amounts(base, q);
                        counted.push(a);
                        let parent = item(self, None, *id, "bundle", sku, name, qty, base, Some(a));
                        let kids: Vec<Value> = children
                            .iter()
                            .map(|(cid, csku, cname, _)| {
                                item(
                                    self,
                                    Some(&parent),
                                    *cid,
                                    "simple",
                                    csku,
                                    cname,
                                    qty,
                                    Decimal::ZERO,
                                    None,
                                )
                            })
                            .collect();
                        items.push(parent);
                        items.extend(kids);
                    }
                    None => {
                        let kid_amounts: Vec<_> = children
                            .iter()
                            .map(|(_, _, _, pr)| amounts(money(*pr), q))
                            .collect();
                        let base_sum: Decimal = children.iter().map(|c| money(c.3)).sum();
                        let row_sum: Decimal = kid_amounts.iter().map(|a| a.0).sum();
                        let base_row_sum: Decimal = kid_amounts.iter().map(|a| a.1).sum();
                        let mut parent = item(
                            self,
                            None,
                            *id,
                            "bundle",
                            sku,
                            name,
                            qty,
                            base_sum,
                            Some((
                                row_sum,
                                base_row_sum,
                                Decimal::ZERO,
                                Decimal::ZERO,
                                Decimal::ZERO,
                                Decimal::ZERO,
                            )),
                        );
                        // The parent's price is the sum of its components in order currency.
                        parent["price"] = num(round2(row_sum / q));
                        let mut kids = Vec::new();
                        for ((cid, csku, cname, pr), a) in children.iter().zip(kid_amounts) {
                            counted.push(a);
                            kids.push(item(
                                self,
                                Some(&parent),
                                *cid,
                                "simple",
                                csku,
                                cname,
                                qty,
                                money(*pr),
                                Some(a),
                            ));
                        }
                        items.push(parent);
                        items.extend(kids);
                    }
                },
            }
        }
        let sum = |f: fn(&Amounts) -> Decimal| counted.iter().map(f).sum::<Decimal>();
        let subtotal = sum(|a| a.0);
        let base_subtotal = sum(|a| a.1);
        let discount = sum(|a| a.2);
        let base_discount = sum(|a| a.3);
        let tax = sum(|a| a.4);
        let base_tax = sum(|a| a.5);
        let base_ship = money(p.shipping);
        let ship = conv(base_ship);
        let grand = subtotal - discount + tax + ship;
        let base_grand = base_subtotal - base_discount + base_tax + base_ship;
        let (first, last, email, customer_id, company) = match &p.customer {
            Some(c) => (
                c["firstname"].as_str().unwrap_or("").to_string(),
                c["lastname"].as_str().unwrap_or("").to_string(),
                c["email"].as_str().unwrap_or("").to_string(),
                Some(c["id"].clone()),
                c["extension_attributes"]
                    .get("company_attributes")
                    .and_then(|a| a.get("company_id"))
                    .cloned(),
            ),
            None => (
                "Guest".to_string(),
                format!("Buyer{entity}"),
                format!("guest{entity}@example.net"),
                None,
                None,
            ),
        };
        let billing = self.address("billing", entity, &first, &last, &email);
        let shipping_addr = self.address("shipping", entity, &first, &last, &email);
        let online = p.method == "braintree";
        let mut payment = json!({"method": p.method, "entity_id": entity, "parent_id": entity,
            "amount_ordered": num(grand), "base_amount_ordered": num(base_grand),
            "shipping_amount": num(ship), "base_shipping_amount": num(base_ship),
            "additional_information": [p.method, ""], "account_status": null, "cc_last4": null});
        if online {
            payment["last_trans_id"] = json!(format!("bt_{entity:08}"));
            payment["cc_last4"] = json!("1111");
        }
        if p.method == "purchaseorder" {
            payment["po_number"] = json!(format!("PO-{entity}"));
        }
        let mut ext = json!({"shipping_assignments": [{"shipping": {"address": shipping_addr,
            "method": "tablerate_bestway", "total": {"shipping_amount": num(ship),
            "base_shipping_amount": num(base_ship), "shipping_incl_tax": num(ship),
            "base_shipping_incl_tax": num(base_ship), "shipping_tax_amount": 0}}}]});
        if let Some(cid) = &company {
            let name = self
                .companies
                .get(cid.as_i64().unwrap_or_default())
                .and_then(|c| c["company_name"].as_str())
                .unwrap_or_default()
                .to_string();
            ext["company_order_attributes"] =
                json!({"order_id": entity, "company_id": cid, "company_name": name});
        }
        let status = match p.state {
            "new" => "pending",
            "holded" => "holded",
            s => s,
        };
        let mut o = json!({
            "entity_id": entity, "increment_id": increment, "store_id": store.id,
            "store_name": store.name, "state": p.state, "status": status,
            "created_at": ts(&created), "updated_at": ts(&updated),
            "customer_is_guest": i64::from(customer_id.is_none()),
            "customer_email": email, "customer_firstname": first, "customer_lastname": last,
            "customer_group_id": if company.is_some() { 2 } else if customer_id.is_some() { 1 } else { 0 },
            "customer_note_notify": 1, "email_sent": 1, "is_virtual": 0,
            "base_currency_code": "USD", "global_currency_code": "USD",
            "order_currency_code": store.order_currency, "store_currency_code": store.order_currency,
            "base_to_order_rate": num(store.rate), "base_to_global_rate": 1,
            "store_to_base_rate": 0, "store_to_order_rate": 0,
        });
        let amounts_json = json!({
            "subtotal": num(subtotal), "base_subtotal": num(base_subtotal),
            "subtotal_incl_tax": num(subtotal + tax), "base_subtotal_incl_tax": num(base_subtotal + base_tax),
            "discount_amount": num(-discount), "base_discount_amount": num(-base_discount),
            "tax_amount": num(tax), "base_tax_amount": num(base_tax),
            "shipping_amount": num(ship), "base_shipping_amount": num(base_ship),
            "shipping_incl_tax": num(ship), "base_shipping_incl_tax": num(base_ship),
            "shipping_description": "Best Way - Table Rate",
            "grand_total": num(grand), "base_grand_total": num(base_grand),
            "total_due": num(grand), "base_total_due": num(base_grand),
        });
        let rest = json!({
            "total_qty_ordered": num(qty_total), "total_item_count": items.len(),
            "weight": items.len(), "quote_id": entity + 5000, "protect_code": format!("{:06x}", entity * 7919 % 0xFFFFFF),
            "items": items, "billing_address": billing, "billing_address_id": entity * 2 + 1,
            "payment": payment, "status_histories": [], "extension_attributes": ext
        });
        for part in [amounts_json, rest] {
            if let (Some(target), Value::Object(m)) = (o.as_object_mut(), part) {
                target.extend(m);
            }
        }
        if let Some(cid) = customer_id {
            o["customer_id"] = cid;
        }
        o
    }

    /// Invoices (full or two partial ones) and credit memos (full refunds of closed orders,
    /// partial refunds of some complete ones; online or offline by payment method).
    #[allow(clippy::too_many_lines)]
    fn add_documents(&mut self, order: &mut Value, store: &StoreView, latest: NaiveDateTime) {
        let state = order["state"].as_str().unwrap_or("new").to_string();
        if !matches!(state.as_str(), "processing" | "complete" | "closed") {
            return;
        }
        let order_id = order["entity_id"].as_i64().unwrap_or_default();
        let online = order["payment"]["method"] == "braintree";
        let items: Vec<Value> = order["items"].as_array().cloned().unwrap_or_default();
        // Groups: a top-level row with its children.
        let mut groups: Vec<Vec<Value>> = Vec::new();
        for i in &items {
            if i.get("parent_item_id").is_none() {
                groups.push(vec![i.clone()]);
            } else if let Some(g) = groups.last_mut() {
                g.push(i.clone());
            }
        }
        let split = if groups.len() > 1
            && (self.rng.u8(0..3) == 0 || order["payment"]["method"] == "purchaseorder")
        {
            groups.len() / 2
        } else {
            groups.len()
        };
        let parts: Vec<Vec<Vec<Value>>> = if split < groups.len() {
            vec![groups[..split].to_vec(), groups[split..].to_vec()]
        } else {
            vec![groups.clone()]
        };
        let mut when =
            crate::adobe::search::parse_timestamp(order["updated_at"].as_str().unwrap_or(""))
                .map(|t| t.naive_utc())
                .unwrap_or(latest);
        let mut invoice_ids = Vec::new();
        let mut total_invoiced = Decimal::ZERO;
        for (n, part) in parts.iter().enumerate() {
            when = (when + ChronoDuration::seconds(60 + self.rng.i64(0..7200))).min(latest);
            let inv_id = self.invoices.rows.len() as i64 + 1;
            let (doc_items, totals) = self.doc_items(part, inv_id, false);
            let ship = if n == 0 {
                order["shipping_amount"].clone()
            } else {
                json!(0)
            };
            let base_ship = if n == 0 {
                order["base_shipping_amount"].clone()
            } else {
                json!(0)
            };
            let ship_d = crate::adobe::wire::de::value_to_decimal(&ship).unwrap_or_default();
            let base_ship_d =
                crate::adobe::wire::de::value_to_decimal(&base_ship).unwrap_or_default();
            let grand = totals.row - totals.discount + totals.tax + ship_d;
            let base_grand = totals.base_row - totals.base_discount + totals.base_tax + base_ship_d;
            total_invoiced += grand;
            let mut inv = json!({
                "entity_id": inv_id, "increment_id": self.increment_id(store, "invoice"),
                "order_id": order_id, "store_id": store.id,
                "state": if n == 1 && state == "processing" { 1 } else { 2 },
                "created_at": ts(&when), "updated_at": ts(&when),
                "base_currency_code": "USD", "global_currency_code": "USD",
                "order_currency_code": store.order_currency, "store_currency_code": store.order_currency,
                "base_to_order_rate": num(store.rate), "base_to_global_rate": 1,
                "subtotal": num(totals.row), "base_subtotal": num(totals.base_row),
                "discount_amount": num(-totals.discount), "base_discount_amount": num(-totals.base_discount),
                "tax_amount": num(totals.tax), "base_tax_amount": num(totals.base_tax),
                "shipping_amount": ship, "base_shipping_amount": base_ship,
                "grand_total": num(grand), "base_grand_total": num(base_grand),
                "total_qty": num(totals.qty_all_rows), "billing_address_id": order_id * 2 + 1,
                "shipping_address_id": order_id * 2, "can_void_flag": 0, "email_sent": 1,
                "items": doc_items, "comments": []
            });
            if online {
                inv["transaction_id"] = json!(format!("bt_{order_id:08}-capture-{n}"));
            }
            invoice_ids.push((inv_id, part.clone()));
            self.invoices.push(inv_id, inv);
        }
        order["total_invoiced"] = num(total_invoiced);
        order["total_paid"] = num(total_invoiced);
        order["total_due"] = json!(0);
        // Credit memos.
        let refunds: Vec<(i64, Vec<Vec<Value>>, bool)> = if state == "closed" {
            invoice_ids
                .into_iter()
                .map(|(id, part)| (id, part, true))
                .collect()
        } else if state == "complete" && self.rng.u8(0..5) == 0 {
            let (id, part) = invoice_ids[0].clone();
            let first = vec![part[0].clone()];
            let mut v = vec![(id, first, false)];
            if part.len() > 1 {
                v.push((id, vec![part[1].clone()], false));
            }
            v
        } else {
            Vec::new()
        };
        let (mut online_total, mut offline_total) = (Decimal::ZERO, Decimal::ZERO);
        for (k, (inv_id, groups, full)) in refunds.into_iter().enumerate() {
            when = (when + ChronoDuration::seconds(600 + self.rng.i64(0..86_400))).min(latest);
            let cm_id = self.creditmemos.rows.len() as i64 + 1;
            let (doc_items, totals) = self.doc_items(&groups, cm_id, true);
            let adj_pos = if !full && self.rng.bool() {
                Decimal::new(250, 2)
            } else {
                Decimal::ZERO
            };
            let adj_neg = if !full && k == 0 {
                Decimal::new(100, 2)
            } else {
                Decimal::ZERO
            };
            let grand = totals.row - totals.discount + totals.tax + adj_pos - adj_neg;
            let mut cm = json!({
                "entity_id": cm_id, "increment_id": self.increment_id(store, "creditmemo"),
                "order_id": order_id, "invoice_id": if online || self.rng.bool() { inv_id } else { 0 },
                "store_id": store.id, "state": 2, "creditmemo_status": 2,
                "created_at": ts(&when), "updated_at": ts(&when),
                "base_currency_code": "USD", "global_currency_code": "USD",
                "order_currency_code": store.order_currency, "store_currency_code": store.order_currency,
                "base_to_order_rate": num(store.rate),
                "subtotal": num(totals.row), "base_subtotal": num(totals.base_row),
                "discount_amount": num(-totals.discount), "base_discount_amount": num(-totals.base_discount),
                "tax_amount": num(totals.tax), "base_tax_amount": num(totals.base_tax),
                "shipping_amount": 0, "base_shipping_amount": 0,
                "adjustment": num(adj_pos - adj_neg), "adjustment_positive": num(adj_pos),
                "adjustment_negative": num(adj_neg), "grand_total": num(grand),
                "base_grand_total": num(totals.base_row - totals.base_discount + totals.base_tax + round2(adj_pos / store.rate) - round2(adj_neg / store.rate)),
                "items": doc_items, "comments": []
            });
            if online {
                cm["transaction_id"] = json!(format!("bt_{order_id:08}-refund-{k}"));
                online_total += grand;
            } else {
                offline_total += grand;
            }
            self.creditmemos.push(cm_id, cm);
        }
        if !(online_total + offline_total).is_zero() {
            order["total_refunded"] = num(online_total + offline_total);
            order["total_online_refunded"] = num(online_total);
            order["total_offline_refunded"] = num(offline_total);
        }
        // Creating documents re-saves the order.
        if crate::adobe::search::parse_timestamp(order["updated_at"].as_str().unwrap_or(""))
            .map(|t| t.naive_utc())
            .is_some_and(|u| u < when)
        {
            order["updated_at"] = json!(ts(&when));
        }
    }

    /// Invoice / credit-memo rows for whole item groups: parent and child rows, with `row_total`
    /// only on the rows that count (dynamic bundle parents and configurable/fixed-bundle
    /// children have none, as in the published invoice sample).
    fn doc_items(
        &mut self,
        groups: &[Vec<Value>],
        doc_id: i64,
        memo: bool,
    ) -> (Vec<Value>, DocTotals) {
        let mut out = Vec::new();
        let mut t = DocTotals::default();
        let d = |v: &Value, k: &str| {
            crate::adobe::wire::de::value_to_decimal(&v[k]).unwrap_or_default()
        };
        for g in groups {
            let parent = &g[0];
            let dynamic_bundle = parent["product_type"] == "bundle"
                && g[1..].iter().any(|c| !d(c, "row_total").is_zero());
            for (i, row) in g.iter().enumerate() {
                let counts = if i == 0 {
                    !dynamic_bundle
                } else {
                    dynamic_bundle
                };
                let id = self.next_doc_item_id;
                self.next_doc_item_id += 1;
                let qty = d(row, "qty_ordered");
                t.qty_all_rows += qty;
                let mut v = json!({"entity_id": id, "parent_id": doc_id, "order_item_id": row["item_id"],
                    "product_id": row["product_id"], "sku": row["sku"], "name": row["name"],
                    "qty": num(qty), "price": row["price"], "base_price": row["base_price"]});
                if memo {
                    v["base_cost"] = json!(0);
                }
                if counts {
                    for k in [
                        "row_total",
                        "base_row_total",
                        "tax_amount",
                        "base_tax_amount",
                        "discount_amount",
                        "base_discount_amount",
                    ] {
                        v[k] = row[k].clone();
                    }
                    t.row += d(row, "row_total");
                    t.base_row += d(row, "base_row_total");
                    t.discount += d(row, "discount_amount");
                    t.base_discount += d(row, "base_discount_amount");
                    t.tax += d(row, "tax_amount");
                    t.base_tax += d(row, "base_tax_amount");
                }
                out.push(v);
            }
        }
        (out, t)
    }

    /// Moves an order along (new → processing → complete) and bumps `updated_at` to `now`.
    pub fn mutate_order(&mut self, now: &NaiveDateTime) -> Option<i64> {
        if self.orders.rows.is_empty() {
            return None;
        }
        let i = self.rng.usize(0..self.orders.rows.len());
        let o = &mut self.orders.rows[i];
        let (state, status) = match o["state"].as_str().unwrap_or("new") {
            "new" => ("processing", "processing"),
            "processing" => ("complete", "complete"),
            "holded" => ("processing", "processing"),
            s => (s, o["status"].as_str().unwrap_or(s)),
        };
        let (state, status) = (state.to_string(), status.to_string());
        o["state"] = json!(state);
        o["status"] = json!(status);
        let history = o["status_histories"].as_array_mut();
        if let Some(h) = history {
            h.push(json!({"comment": "status changed by the simulator", "created_at": ts(now), "status": status}));
        }
        o["updated_at"] = json!(ts(now));
        o["entity_id"].as_i64()
    }

    /// The store view with `code`.
    pub fn store_by_code(&self, code: &str) -> Option<&StoreView> {
        self.stores.iter().find(|s| s.code == code)
    }
}

#[derive(Debug, Clone)]
struct OrderProfile {
    customer: Option<Value>,
    entries: Vec<CatalogEntry>,
    qtys: Vec<i64>,
    discount: bool,
    taxed: bool,
    shipping: i64,
    state: &'static str,
    method: &'static str,
}

#[derive(Debug, Default)]
struct DocTotals {
    row: Decimal,
    base_row: Decimal,
    discount: Decimal,
    base_discount: Decimal,
    tax: Decimal,
    base_tax: Decimal,
    qty_all_rows: Decimal,
}
