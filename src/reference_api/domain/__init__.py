"""The domain's building blocks, below every layer that uses them: the errors services raise,
the records they return and the pagination primitives. Nothing here imports the service,
loader or HTTP layers."""
