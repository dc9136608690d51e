// Package service is packhouse's server-side logic: ingesting pushed
// packages, resolving views and publishing their signed indexes, tokens.
// It knows neither HTTP nor which database or blob store it runs on.
package service
