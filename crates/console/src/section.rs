//! The console's screens as its menu knows them: each screen is a [`Section`] in one
//! [`Group`], with its path and its words. A new screen is a variant here, its module, its
//! template and its words in the catalogue.

use super::i18n::Text;

/// A screen of the menu.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Today,
    Orders,
    Waiting,
    Sync,
    Products,
    Warehouses,
    Movements,
    StockKeycrm,
    Production,
    Settings,
    Account,
    Status,
}

/// A group of the menu: the line that fits a laptop in both languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Orders,
    Stock,
    Production,
    Settings,
}

/// One link of the menu.
pub struct MenuItem {
    pub label: &'static str,
    pub path: &'static str,
    pub active: bool,
}

impl Section {
    /// The screen a link to this section opens.
    pub fn path(self) -> &'static str {
        match self {
            Section::Today => "/",
            Section::Orders => "/orders",
            Section::Waiting => "/orders/waiting",
            Section::Sync => "/sync",
            Section::Products => "/products",
            Section::Warehouses => "/warehouses",
            Section::Movements => "/movements",
            Section::StockKeycrm => "/stock/keycrm",
            Section::Production => "/production",
            Section::Settings => "/settings/keycrm",
            Section::Account => "/settings/account",
            Section::Status => "/status",
        }
    }

    /// The group whose line holds it (the Today page is the brand's link).
    pub fn group(self) -> Option<Group> {
        Some(match self {
            Section::Today => return None,
            Section::Orders | Section::Waiting | Section::Sync => Group::Orders,
            Section::Products | Section::Warehouses | Section::Movements | Section::StockKeycrm => {
                Group::Stock
            }
            Section::Production => Group::Production,
            Section::Settings | Section::Account | Section::Status => Group::Settings,
        })
    }

    pub fn label(self, t: &Text) -> &'static str {
        match self {
            Section::Today => t.nav_today,
            Section::Orders => t.nav_orders,
            Section::Waiting => t.nav_waiting,
            Section::Sync => t.nav_sync,
            Section::Products => t.nav_products,
            Section::Warehouses => t.nav_warehouses,
            Section::Movements => t.nav_movements,
            Section::StockKeycrm => t.nav_stock_keycrm,
            Section::Production => t.nav_production,
            Section::Settings => t.nav_settings,
            Section::Account => t.nav_account,
            Section::Status => t.nav_status,
        }
    }
}

impl Group {
    pub const ALL: [Group; 4] = [
        Group::Orders,
        Group::Stock,
        Group::Production,
        Group::Settings,
    ];

    /// Its screens, the first one the group's link opens.
    pub fn sections(self) -> &'static [Section] {
        match self {
            Group::Orders => &[Section::Orders, Section::Waiting, Section::Sync],
            Group::Stock => &[
                Section::Warehouses,
                Section::Movements,
                Section::Products,
                Section::StockKeycrm,
            ],
            Group::Production => &[Section::Production],
            Group::Settings => &[Section::Settings, Section::Account, Section::Status],
        }
    }

    pub fn label(self, t: &Text) -> &'static str {
        match self {
            Group::Orders => t.group_orders,
            Group::Stock => t.group_stock,
            Group::Production => t.nav_production,
            Group::Settings => t.group_nav_settings,
        }
    }
}

/// The menu's groups, the one holding `current` marked.
pub fn groups(t: &Text, current: Section) -> Vec<MenuItem> {
    Group::ALL
        .iter()
        .map(|g| MenuItem {
            label: g.label(t),
            path: g.sections()[0].path(),
            active: current.group() == Some(*g),
        })
        .collect()
}

/// The screens of `current`'s group (none for a group of one), `current` marked.
pub fn tabs(t: &Text, current: Section) -> Vec<MenuItem> {
    let Some(group) = current.group() else {
        return Vec::new();
    };
    if group.sections().len() < 2 {
        return Vec::new();
    }
    group
        .sections()
        .iter()
        .map(|s| MenuItem {
            label: s.label(t),
            path: s.path(),
            active: *s == current,
        })
        .collect()
}
