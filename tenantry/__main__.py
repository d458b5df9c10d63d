from tenantry.cli import app

# Guarded: uvicorn spawns worker processes, which re-import the main module.
if __name__ == "__main__":
    app(prog_name="tenantry")
