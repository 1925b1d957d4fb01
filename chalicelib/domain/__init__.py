"""The rules of Colony: plain functions and small classes, no Chalice and no boto3 calls of their own."""
