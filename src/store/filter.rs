//! The ListServiceAccounts filter grammar and orderBy syntax, parsed from JSON into an AST that stores compile to SQL.

/// A field a filter or an order may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Id,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Eq(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Vec<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderKey {
    pub field: Field,
    pub descending: bool,
}
