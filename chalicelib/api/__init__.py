"""HTTP only: one blueprint per resource; each route parses, calls one domain function and renders."""
