//! adobe
