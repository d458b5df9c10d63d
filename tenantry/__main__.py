from tenantry.cli import app

app(prog_name="tenantry")
